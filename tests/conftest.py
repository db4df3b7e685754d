"""Shared fixtures: real SQLite files, a real PostgreSQL database per test, the shipped rules."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsvigil.settings import get_settings
from tests.support import REPO_ROOT

# Same defaults as services/services.sh.
POSTGRES_URL = os.environ.get(
    "NEWSVIGIL_TEST_POSTGRES", "postgresql+psycopg://newsvigil:newsvigil@127.0.0.1:55432/newsvigil"
)
KAFKA_URL = os.environ.get("NEWSVIGIL_TEST_KAFKA", "kafka://127.0.0.1:9092")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def rules():
    from newsvigil.processors.rules import load_rules

    return load_rules(REPO_ROOT / "seeds" / "topics.yaml")


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from default settings, whatever the developer's environment says."""
    for key in list(os.environ):
        if key.startswith("NEWSVIGIL_") and not key.startswith("NEWSVIGIL_TEST_"):
            monkeypatch.delenv(key)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsvigil.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the server services/services.sh started."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    if not _reachable(url.host or "127.0.0.1", url.port or 5432):
        pytest.fail(f"PostgreSQL is not running at {url.host}:{url.port}; start it with `make services`")
    name = f"nv_test_{uuid.uuid4().hex[:12]}"
    admin = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        for attempt in range(10):
            try:
                conn.execute(f'CREATE DATABASE "{name}"')
                break
            except psycopg.errors.ObjectInUse:  # template1 briefly busy (another test's DROP ... FORCE)
                if attempt == 9:
                    raise
                time.sleep(0.2)
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(**admin) as conn:
        for attempt in range(50):
            try:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.errors.InsufficientPrivilege:
                # an autovacuum worker (the server's own role) is on the database: FORCE may not end
                # it; it ends by itself within moments
                if attempt == 49:
                    raise
                time.sleep(0.2)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each storage test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def kafka_servers() -> list[str]:
    servers = KAFKA_URL.removeprefix("kafka://").split(",")
    host, port = servers[0].rsplit(":", 1)
    if not _reachable(host, int(port)):
        pytest.fail(f"Kafka is not running at {servers[0]}; start it with `make services`")
    return servers


@pytest.fixture
def sessions(database_url):
    """A sessionmaker over the migrated `database_url` (SQLite, and PostgreSQL under the postgres marker)."""
    from newsvigil.storage.database import make_engine, session_factory
    from newsvigil.storage.migrate import upgrade

    upgrade(database_url)
    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()
