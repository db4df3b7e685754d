"""The worker's storing process (a spawned child), on SQLite: results, database errors, a killed child,
and a child that outlives no worker."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from newsvigil.processors.detect import detect_articles
from newsvigil.records import AlertPolicy
from newsvigil.runtime.storing import StoringProcess
from newsvigil.settings import Settings
from newsvigil.storage.database import make_engine
from newsvigil.storage.migrate import upgrade
from tests.kafka_support import articles

REPO_ROOT = Path(__file__).resolve().parents[2]


def detected(n: int, prefix: str = "a"):
    from newsvigil.processors.rules import load_rules

    return detect_articles(articles(n, prefix), load_rules(REPO_ROOT / "seeds" / "topics.yaml"))


def stored_ids(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = {row[0] for row in conn.execute(text("SELECT id FROM articles"))}
    engine.dispose()
    return ids


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie is gone too (its parent, the test, has not reaped it)
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


def wait_gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def storing(sqlite_url):
    upgrade(sqlite_url)
    process = StoringProcess(Settings(database_url=sqlite_url)).start()
    yield process
    process.close()


def test_a_batch_comes_back_with_its_events_and_is_stored(storing, sqlite_url):
    batch = detected(5, "s")
    result = storing.process([(AlertPolicy.NEW, batch[:3]), (AlertPolicy.NONE, batch[3:])])
    assert sorted(e.article.id for e in result.events) == [a.id for a, _ in batch]
    assert all(e.detection.troops for e in result.events)
    assert result.failed == []
    assert stored_ids(sqlite_url) == {a.id for a, _ in batch}


def test_a_killed_child_is_started_again_and_the_batch_is_not_lost(storing, sqlite_url, caplog):
    storing.process([(AlertPolicy.NEW, detected(2, "first"))])
    first = storing._child.pid
    os.kill(first, signal.SIGKILL)
    assert wait_gone(first)
    with caplog.at_level(logging.ERROR, logger="newsvigil.worker"):
        result = storing.process([(AlertPolicy.NEW, detected(2, "second"))])
    assert [e.article.id for e in result.events] == ["second000000", "second000001"]
    assert storing._child.pid != first
    assert "the storing process exited (exit code -9); starting it again" in caplog.text
    assert {"second000000", "second000001"} <= stored_ids(sqlite_url)


def test_a_database_error_reaches_the_worker_as_itself(sqlite_url):
    # a database without its tables: the worker must see the SQLAlchemy error (an outage: it retries)
    process = StoringProcess(Settings(database_url=sqlite_url)).start()
    try:
        with pytest.raises(OperationalError, match="no such table"):
            process.process([(AlertPolicy.NEW, detected(1))])
        child = process._child.pid
        with pytest.raises(OperationalError):  # the same child, still serving
            process.process([(AlertPolicy.NEW, detected(1))])
        assert process._child.pid == child
    finally:
        process.close()


def test_the_child_ends_when_the_worker_is_killed(sqlite_url):
    upgrade(sqlite_url)
    script = (
        "import os, signal, sys\n"
        "from newsvigil.records import AlertPolicy\n"
        "from newsvigil.runtime.storing import StoringProcess\n"
        "from newsvigil.settings import Settings\n"
        "from tests.runtime.test_storing import detected\n"
        "process = StoringProcess(Settings(database_url=sys.argv[1])).start()\n"
        "process.process([(AlertPolicy.NEW, detected(1))])\n"
        "print(process._child.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script, sqlite_url], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == -signal.SIGKILL, ran.stderr
    child = int(ran.stdout.split()[0])
    assert wait_gone(child), f"storing process {child} outlived its worker"


def test_a_child_whose_rules_differ_from_its_parents_refuses_to_store(sqlite_url):
    from newsvigil.errors import RulesError

    upgrade(sqlite_url)
    process = StoringProcess(Settings(database_url=sqlite_url), rules_version="an older version").start()
    try:
        with pytest.raises(RulesError, match="changed since the process started"):
            process.process([(AlertPolicy.NEW, detected(1))])
    finally:
        process.close()
    assert stored_ids(sqlite_url) == set()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite://", True),
        ("sqlite:///:memory:", True),
        ("sqlite:///file:shared?mode=memory&uri=true", True),
        ("sqlite:////var/lib/newsvigil/newsvigil.db", False),
        ("postgresql+psycopg://u:p@127.0.0.1/db", False),
    ],
)
def test_in_memory_databases_are_told_apart(url, expected):
    from newsvigil.storage.database import in_memory

    assert in_memory(url) is expected
