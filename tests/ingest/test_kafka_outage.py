"""A broker outage while ingest runs delays articles and never drops them (private broker, real restart)."""

import json
import subprocess
import sys

import pytest
from werkzeug import Response

from tests.kafka_support import counts, free_port, kafka_env, private_service, start_worker, stop, wait_until
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def rss(n: int) -> bytes:
    items = "".join(
        f"<item><title>Nato: about {1000 + i} troops</title><guid>item-{i}</guid><link>https://x.example/{i}</link></item>"
        for i in range(n)
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Outage</title>{items}</channel></rss>".encode()


@pytest.fixture
def private_broker(tmp_path):
    """A broker of this test's own, so that stopping it disturbs no other test."""
    port = free_port()
    control = private_service(tmp_path, "kafka", NEWSVIGIL_KAFKA_PORT=port, NEWSVIGIL_KAFKA_CONTROLLER_PORT=free_port())
    control("up")
    yield f"127.0.0.1:{port}", control
    control("down")


def test_broker_outage_during_ingest_loses_nothing(private_broker, postgres_url, httpserver, tmp_path):
    server, control = private_broker
    feed = {"body": rss(3)}
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda request: Response(feed["body"], content_type="application/rss+xml")
    )
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(httpserver.url_for("/feed.xml") + "\n")
    env = kafka_env(
        [server],
        postgres_url,
        NEWSVIGIL_FEEDS=str(feeds),
        NEWSVIGIL_ALLOW_PRIVATE_NETWORKS="1",
        NEWSVIGIL_POLL_INTERVAL="1",
        NEWSVIGIL_KAFKA_SEND_TIMEOUT="5",
    )
    log = open(tmp_path / "ingest.log", "ab")
    ingest = subprocess.Popen(
        [sys.executable, "-m", "newsvigil.cli", "ingest"],
        env=env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: counts(postgres_url)["articles"] == 3, 120, "the first 3 articles")
        control("down")
        feed["body"] = rss(6)  # three new items appear while the broker is down
        wait_until(
            lambda: b"publishing failed, will retry" in (tmp_path / "ingest.log").read_bytes(),
            90,
            "ingest to report the failed publish",
        )
        assert ingest.poll() is None, "ingest must keep running through the outage"
        listed = subprocess.run(
            [sys.executable, "-m", "newsvigil.cli", "feeds", "list", "--json"],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        [health] = [json.loads(line) for line in listed.stdout.splitlines()]
        assert health["last_error"] is None and health["consecutive_errors"] == 0  # the broker failed, not the feed
        control("up")
        wait_until(lambda: counts(postgres_url)["articles"] >= 6, 180, "all 6 articles after the restart")
        assert counts(postgres_url)["articles"] == 6
    finally:
        stop(ingest)
        stop(worker)
