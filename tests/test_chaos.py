"""Chaos: the Kafka-mode pipeline under faults, on real services of its own (private ports).

ingest + 2 workers + a local feed farm whose feeds keep gaining items; PostgreSQL down 20 s, Kafka
down 20 s, SIGKILL of a worker, SIGTERM of a worker and of ingest (each restarted, as a supervisor
would). Then: nothing else died, every item is stored once, every alert delivered once, lag 0.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, text
from werkzeug import Response

from tests.kafka_support import free_port, kafka_env, private_service, start_worker, wait_until
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.chaos, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

FEEDS = 6


class FeedFarm:
    """Feeds that gain an item every `every` seconds while `growing` (each item a new story on NATO)."""

    def __init__(self, every: float = 1.0) -> None:
        self.items = dict.fromkeys(range(FEEDS), 2)
        self.growing = True
        self.every = every
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._grow, daemon=True).start()

    def _grow(self) -> None:
        for n in itertools.count():
            if self._stop.wait(self.every):
                return
            if self.growing:
                with self._lock:
                    self.items[n % FEEDS] += 1

    def body(self, f: int) -> bytes:
        with self._lock:
            count = self.items[f]
        items = "".join(
            f"<item><guid>f{f}-{i}</guid><title>Nato exercise {f}-{i}: about {1000 + 10 * f + i} troops "
            f"{['alpha', 'bravo', 'charlie', 'delta', 'echo'][i % 5]} {f * 100 + i}</title></item>"
            for i in range(count)
        )
        return f"<?xml version='1.0'?><rss version='2.0'><channel><title>F{f}</title>{items}</channel></rss>".encode()

    def total(self) -> int:
        with self._lock:
            return sum(self.items.values())

    def close(self) -> None:
        self._stop.set()


def scalar(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    except Exception:
        return -1
    finally:
        engine.dispose()


def lag(env: dict[str, str]) -> int:
    """The worker group's uncommitted messages, as `articles_lag` (the operators' figure) reads them."""
    from newsvigil.processors.kafka_topics import articles_lag
    from newsvigil.settings import Settings

    return articles_lag(
        Settings(
            broker=env["NEWSVIGIL_BROKER"],
            kafka_topic_prefix=env["NEWSVIGIL_KAFKA_TOPIC_PREFIX"],
            kafka_group=env["NEWSVIGIL_KAFKA_GROUP"],
            database_url=env["NEWSVIGIL_DATABASE_URL"],
        )
    )


def worker_lag(process: subprocess.Popen) -> float:
    """The sum of newsvigil_consumer_lag on a worker's /metrics."""
    import urllib.request

    port = process.newsvigil_env["NEWSVIGIL_WORKER_WEB_PORT"]  # type: ignore[attr-defined]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text_ = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text_.splitlines() if line.startswith("newsvigil_consumer_lag{")
    )


def test_the_pipeline_rides_out_outages_and_kills(tmp_path):
    pg_port, kafka_port = free_port(), free_port()
    postgres = private_service(tmp_path / "pg", "postgres", NEWSVIGIL_PG_PORT=pg_port)
    kafka = private_service(
        tmp_path / "kafka", "kafka", NEWSVIGIL_KAFKA_PORT=kafka_port, NEWSVIGIL_KAFKA_CONTROLLER_PORT=free_port()
    )
    postgres("up")
    kafka("up")
    farm = FeedFarm()
    processes: dict[str, subprocess.Popen] = {}
    received: list[str] = []
    with HTTPServer(host="127.0.0.1", threaded=True) as server:
        for f in range(FEEDS):
            server.expect_request(f"/f{f}.xml").respond_with_handler(
                lambda r, f=f: Response(farm.body(f), content_type="application/rss+xml")
            )
        server.expect_request("/hook").respond_with_handler(
            lambda r: (received.append(r.headers["webhook-id"]), Response("ok"))[1]
        )
        (tmp_path / "feeds.txt").write_text("".join(server.url_for(f"/f{f}.xml") + "\n" for f in range(FEEDS)))
        url = f"postgresql+psycopg://newsvigil:newsvigil@127.0.0.1:{pg_port}/newsvigil"
        env = kafka_env(
            [f"127.0.0.1:{kafka_port}"],
            url,
            NEWSVIGIL_FEEDS=str(tmp_path / "feeds.txt"),
            NEWSVIGIL_ALLOWED_NETWORKS="127.0.0.1/32",
            NEWSVIGIL_POLL_INTERVAL="1",
            NEWSVIGIL_POLL_MIN_INTERVAL="1",
            NEWSVIGIL_KAFKA_SEND_TIMEOUT="5",
            NEWSVIGIL_ALERT_BACKOFF_SECONDS="1",
        )
        subprocess.run(
            [sys.executable, "-m", "newsvigil.cli", "db", "upgrade"],
            env=env,
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )
        added = subprocess.run(
            [
                sys.executable,
                "-m",
                "newsvigil.cli",
                "subscribe",
                "add",
                "--name",
                "desk",
                "--channel",
                "webhook",
                "--target",
                server.url_for("/hook"),
                "--kinds",
                "new_story",
            ],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert added.returncode == 0, added.stderr

        def start(name: str) -> None:
            if name.startswith("worker"):
                processes[name] = start_worker(env, tmp_path / f"{name}.log")
            else:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "newsvigil.cli", "ingest"],
                    env=env,
                    cwd=REPO_ROOT,
                    stdout=open(tmp_path / f"{name}.log", "ab"),
                    stderr=subprocess.STDOUT,
                )

        def alive() -> None:
            for name, process in processes.items():
                assert process.poll() is None, f"{name} died:\n" + (tmp_path / f"{name}.log").read_text()[-3000:]

        try:
            for name in ("worker-a", "worker-b", "ingest"):
                start(name)

            def stored():
                return scalar(url, "SELECT count(*) FROM articles")

            wait_until(lambda: stored() >= 10, 90, "the first articles")

            postgres("down")
            time.sleep(20)
            alive()
            postgres("up")
            wait_until(lambda: stored() >= 20, 90, "storing to resume after the database outage")

            kafka("down")
            time.sleep(20)
            alive()
            kafka("up")
            before = stored()
            wait_until(lambda: stored() > before, 120, "storing to resume after the broker outage")

            processes.pop("worker-a").send_signal(signal.SIGKILL)
            start("worker-a")
            worker_b = processes.pop("worker-b")
            worker_b.send_signal(signal.SIGTERM)
            assert worker_b.wait(timeout=60) == 0
            start("worker-b")
            ingest = processes.pop("ingest")
            ingest.send_signal(signal.SIGTERM)
            assert ingest.wait(timeout=60) == 0
            start("ingest")
            alive()

            farm.growing = False
            total = farm.total()
            wait_until(lambda: stored() == total, 120, f"all {total} items stored")
            wait_until(lambda: lag(env) == 0, 60, "lag 0")
            # ... and the workers' own figure agrees (it once kept reporting partitions a rebalance took away)
            for name in ("worker-a", "worker-b"):
                assert worker_lag(processes[name]) == 0, name
            wait_until(
                lambda: scalar(url, "SELECT count(*) FROM alerts WHERE status <> 'sent'") == 0, 90, "every alert sent"
            )
            alive()
            alerts = scalar(url, "SELECT count(*) FROM alerts")
            stories = scalar(url, "SELECT count(*) FROM stories")
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
            farm.close()
            kafka("down")
            postgres("down")
    # Every alert delivered once: a redelivered alert would repeat its webhook id.
    assert alerts == stories > 0 and len(received) == len(set(received)) == alerts
    for name in ("ingest", "worker-a", "worker-b"):  # outages told in a few lines, not thousands
        lines = (tmp_path / f"{name}.log").read_text().splitlines()
        assert len(lines) < 300, f"{name}: {len(lines)} lines"
