"""Always on under faults: a database outage of the embedded monitor is ridden out and told once."""

import logging
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from werkzeug import Response

from newsvigil.outage import Outage
from tests.kafka_support import free_port, private_service, wait_until
from tests.support import REPO_ROOT


def test_an_outage_is_told_once_and_waited_out_with_capped_jittered_backoff(caplog):
    outage = Outage("database", logging.getLogger("test.outage"), first_wait=0.5, max_wait=10, rng=random.Random(1))
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        waits = [outage.failed(ConnectionError("connection refused\nmore detail")) for _ in range(8)]
        outage.ok()
        outage.ok()
    assert [r.getMessage() for r in caplog.records] == [
        "database unavailable (ConnectionError: connection refused); retrying with backoff",
        caplog.records[1].getMessage(),
    ]
    assert (
        caplog.records[1].getMessage().startswith("database available again after")
        and "8 failed attempts" in caplog.records[1].getMessage()
    )
    assert all(0.4 <= w <= 12 for w in waits) and waits[-1] > waits[0] and max(waits) <= 12
    assert not outage.down and outage.outages == 1


def rss(n: int) -> bytes:
    items = "".join(f"<item><title>Nato: about {1000 + i} troops</title><guid>o-{i}</guid></item>" for i in range(n))
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>O</title>{items}</channel></rss>".encode()


@pytest.fixture
def private_postgres(tmp_path):
    """A PostgreSQL server of this test's own (services.sh, private port), so stopping it disturbs no other test."""
    port = free_port()
    postgres = private_service(tmp_path, "postgres", NEWSVIGIL_PG_PORT=port)
    postgres("up")
    yield f"postgresql+psycopg://newsvigil:newsvigil@127.0.0.1:{port}/newsvigil", postgres
    postgres("down")


@pytest.mark.postgres
@pytest.mark.slow
def test_run_rides_out_a_postgresql_outage(httpserver, tmp_path, private_postgres):
    """`run` on PostgreSQL once exited within 2 s of the database going away."""
    url, postgres = private_postgres
    feed = {"body": rss(2)}
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda r: Response(feed["body"], content_type="application/rss+xml")
    )
    (tmp_path / "feeds.txt").write_text(httpserver.url_for("/feed.xml") + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSVIGIL_")} | {
        "NEWSVIGIL_DATABASE_URL": url,
        "NEWSVIGIL_FEEDS": str(tmp_path / "feeds.txt"),
        "NEWSVIGIL_ALLOWED_NETWORKS": "127.0.0.1/32",
        "NEWSVIGIL_POLL_INTERVAL": "1",
        "NEWSVIGIL_POLL_MIN_INTERVAL": "1",
    }
    log = open(tmp_path / "run.log", "wb")
    run = subprocess.Popen(
        [sys.executable, "-m", "newsvigil.cli", "run"], env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
    )

    def stored():
        return subprocess.run(
            [sys.executable, "-m", "newsvigil.cli", "stats", "--json"],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    try:
        wait_until(lambda: '"articles": 2' in stored(), 60, "the first 2 articles")
        postgres("down")
        feed["body"] = rss(4)  # two new items while the database is down
        time.sleep(8)
        assert run.poll() is None, (tmp_path / "run.log").read_text()
        postgres("up")
        wait_until(lambda: '"articles": 4' in stored(), 60, "the 2 new articles after the outage")
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0
    finally:
        if run.poll() is None:
            run.kill()
    output = (tmp_path / "run.log").read_text()
    assert output.count("database unavailable") == 1, output  # told once, not once per attempt
    assert "database available again" in output and "Traceback" not in output


@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_rides_out_a_postgresql_outage(kafka_servers, private_postgres, tmp_path):
    """A worker once exited within 4 s of the database going away (its delivery timer raised)."""
    import json
    import urllib.request

    from newsvigil.ingest.publish import KafkaPublisher
    from tests.kafka_support import articles, counts, kafka_env, start_worker, stop

    url, postgres = private_postgres
    env = kafka_env(kafka_servers, url)
    worker = start_worker(env, tmp_path / "worker.log")
    health = f"http://127.0.0.1:{worker.newsvigil_env['NEWSVIGIL_WORKER_WEB_PORT']}/healthz"

    def healthz() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(health, timeout=5) as response:
                return response.status, json.loads(response.read())["status"]
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())["status"]
        except OSError:
            return 0, "down"

    publisher = KafkaPublisher(kafka_servers, f"{env['NEWSVIGIL_KAFKA_TOPIC_PREFIX']}.articles")
    try:
        publisher.publish(articles(3, "before"))
        wait_until(lambda: counts(url)["articles"] == 3, 120, "the first 3 articles")
        postgres("down")
        publisher.publish(articles(3, "during"))  # stored once the database is back
        wait_until(lambda: healthz() == (503, "unhealthy: database unavailable"), 30, "/healthz to say unhealthy")
        time.sleep(8)  # two delivery-timer rounds against the missing database
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        postgres("up")
        wait_until(lambda: counts(url)["articles"] == 6, 120, "the 3 articles published during the outage")
        wait_until(lambda: healthz() == (200, "ok"), 30, "/healthz to say ok again")
        assert stop(worker) == 0
    finally:
        publisher.close()
        if worker.poll() is None:
            worker.kill()
    output = (tmp_path / "worker.log").read_text()
    assert output.count("database unavailable") <= 2, output  # told once (per outage), not 1,900 times


def test_repeated_client_errors_are_summarised(caplog):
    from newsvigil.outage import RepeatSummary

    logger = logging.getLogger("test.kafka.client")
    summary = RepeatSummary(window=30)
    logger.addFilter(summary)
    try:
        with caplog.at_level(logging.WARNING, logger="test.kafka.client"):
            for attempt in range(500):
                logger.error("Unable connect to node with id %s: %s", 1, f"refused {attempt}")
            logger.error("Group Coordinator Request failed: %s", "NodeNotReadyError")
    finally:
        logger.removeFilter(summary)
    assert [r.getMessage() for r in caplog.records] == [
        "Unable connect to node with id 1: refused 0",
        "Group Coordinator Request failed: NodeNotReadyError",
    ]
    assert summary.suppressed == 499


@pytest.mark.postgres
@pytest.mark.slow
def test_an_alert_sent_as_the_database_goes_away_is_recorded_once_it_is_back(httpserver, private_postgres, rules):
    """The chaos test once got an alert twice: it was sent, the database went away before the outcome
    was recorded, and the alert was sent again when its lease ran out."""
    from sqlalchemy.exc import SQLAlchemyError

    from newsvigil.processors.delivery import Dispatcher
    from newsvigil.processors.pipeline import ArticleProcessor
    from newsvigil.settings import Settings
    from newsvigil.storage.database import make_engine, session_factory
    from newsvigil.storage.migrate import upgrade
    from newsvigil.storage.models import AlertRow
    from tests.kafka_support import articles
    from tests.processors.test_stories_alerts import Receiver, subscribe

    url, postgres = private_postgres
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    dispatcher = Dispatcher(sessions, Settings(database_url=url, allow_private_networks=True))
    try:
        _sub, secret = subscribe(sessions, target=httpserver.url_for("/hook"), kinds="new_story")
        receiver = Receiver(secret)

        def receive_then_stop_the_database(request):
            response = receiver(request)
            postgres("down")  # before the sender can record that the alert went out
            return response

        httpserver.expect_request("/hook").respond_with_handler(receive_then_stop_the_database)
        ArticleProcessor(rules, sessions).process(articles(1))
        with pytest.raises(SQLAlchemyError):
            dispatcher.deliver_due()
        assert len(receiver.deliveries) == 1
        postgres("up")
        engine.dispose()  # the pool's connections died with the server
        dispatcher.deliver_due()
        with sessions() as session:
            assert [a.status for a in session.query(AlertRow)] == ["sent"]
        # Even once the lease is over, nothing is sent again.
        from datetime import timedelta

        from newsvigil.records import utcnow

        dispatcher.deliver_due(now=utcnow() + timedelta(hours=1))
        assert len(receiver.deliveries) == 1
    finally:
        dispatcher.close()
        engine.dispose()
