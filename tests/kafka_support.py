"""Helpers for tests against the real Kafka broker: worker subprocesses, publishing, waiting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from newsvigil.records import Article
from newsvigil.storage.repositories import dead_letter_count, stats
from tests.support import REPO_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_service(tmp_path, service: str, **ports: int) -> Callable[[str], None]:
    """Control of a `service` (kafka or postgres) of services/services.sh that belongs to one test: its
    own state folder and ports (e.g. NEWSVIGIL_PG_PORT=...), so stopping it disturbs no other test."""
    env = dict(
        os.environ,
        NEWSVIGIL_SERVICES_DIR=str(tmp_path / "services"),
        NEWSVIGIL_KAFKA_LIBS=str(REPO_ROOT / ".cache" / "kafka" / "libs"),
        **{k: str(v) for k, v in ports.items()},
    )
    script = str(REPO_ROOT / "services" / "services.sh")

    def control(action: str) -> None:
        subprocess.run(["bash", script, action, service], env=env, check=True, capture_output=True, timeout=180)

    return control


def kafka_env(servers: list[str], database_url: str, **extra: str) -> dict[str, str]:
    """Environment of a newsvigil process on its own topics and consumer group."""
    name = uuid.uuid4().hex[:10]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSVIGIL_")}
    env.update(
        NEWSVIGIL_BROKER="kafka://" + ",".join(servers),
        NEWSVIGIL_DATABASE_URL=database_url,
        NEWSVIGIL_KAFKA_TOPIC_PREFIX=f"t{name}",
        NEWSVIGIL_KAFKA_GROUP=f"g{name}",
        NEWSVIGIL_KAFKA_PARTITIONS="4",
        NEWSVIGIL_WORKER_WEB_PORT=str(free_port()),
    )
    env.update(extra)
    return env


def start_worker(env: dict[str, str], log_path) -> subprocess.Popen:
    worker_env = dict(env, NEWSVIGIL_WORKER_WEB_PORT=str(free_port()))
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "newsvigil.cli", "worker"],
        env=worker_env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.newsvigil_env = worker_env  # type: ignore[attr-defined]
    return process


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout=timeout)


def articles(n: int, prefix: str = "a") -> list[Article]:
    """Distinct on-topic articles, each with exactly one troop figure."""
    return [
        Article(
            id=f"{prefix}{i:06d}",
            feed_url="https://feeds.example/nato",
            source="Example",
            title=f"Nato: about {1000 + i:,} troops to leave",
            summary="Officials confirmed the plan.",
            language="en",
        )
        for i in range(n)
    ]


def counts(database_url: str) -> dict[str, int]:
    """Rows the pipeline stored (the repository's own counts), zeros before the worker has migrated."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            rows = stats(session)
            return {
                "articles": rows["articles"],
                "events": rows["events"],
                "troop_mentions": rows["troop_mentions"],
                "dead_letters": dead_letter_count(session),
            }
    except Exception:  # tables not created yet: the worker migrates on start
        return {"articles": 0, "events": 0, "troop_mentions": 0, "dead_letters": 0}
    finally:
        engine.dispose()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
