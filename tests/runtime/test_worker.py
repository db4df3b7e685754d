"""Kafka mode against the real broker and PostgreSQL: counts, kills, poison messages, scaling."""

import json
import signal

import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer

from newsvigil.ingest.publish import KafkaPublisher
from tests.kafka_support import articles, counts, kafka_env, start_worker, stop, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def worker_port(process) -> int:
    return int(process.newsvigil_env["NEWSVIGIL_WORKER_WEB_PORT"])


def publish(env, items):
    publisher = KafkaPublisher(
        env["NEWSVIGIL_BROKER"].removeprefix("kafka://").split(","), env["NEWSVIGIL_KAFKA_TOPIC_PREFIX"] + ".articles"
    )
    try:
        publisher.publish(items)
    finally:
        publisher.close()


def test_thousand_articles_two_workers_exactly_once_stored(kafka_servers, postgres_url, tmp_path):
    env = kafka_env(kafka_servers, postgres_url)
    workers = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        publish(env, articles(1000))
        wait_until(lambda: counts(postgres_url)["articles"] >= 1000, 120, "1,000 stored articles")
        assert counts(postgres_url) == {"articles": 1000, "events": 1000, "troop_mentions": 1000, "dead_letters": 0}
        consumer = KafkaConsumer(
            env["NEWSVIGIL_KAFKA_TOPIC_PREFIX"] + ".events",
            bootstrap_servers=kafka_servers,
            auto_offset_reset="earliest",
            consumer_timeout_ms=5000,
        )
        ids = {json.loads(m.value)["article"]["id"] for m in consumer}
        consumer.close()
        assert len(ids) == 1000
    finally:
        for worker in workers:
            assert stop(worker) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_worker_stopped_mid_stream_then_restarted_loses_nothing(kafka_servers, postgres_url, tmp_path, sig):
    env = kafka_env(kafka_servers, postgres_url)
    total = 4000
    publish(env, articles(total))
    worker = start_worker(env, tmp_path / "worker.log")
    wait_until(lambda: counts(postgres_url)["articles"] > 0, 120, "the first stored articles")
    stop(worker, sig)
    stored_at_stop = counts(postgres_url)["articles"]
    assert stored_at_stop < total, "the worker finished before it could be stopped mid-stream"
    restarted = start_worker(env, tmp_path / "worker.log")
    try:
        wait_until(lambda: counts(postgres_url)["articles"] >= total, 180, f"{total:,} stored articles")
        assert counts(postgres_url) == {"articles": total, "events": total, "troop_mentions": total, "dead_letters": 0}
    finally:
        assert stop(restarted) == 0


def test_poison_message_goes_to_deadletter_with_reason(kafka_servers, postgres_url, tmp_path):
    env = kafka_env(kafka_servers, postgres_url)
    prefix = env["NEWSVIGIL_KAFKA_TOPIC_PREFIX"]
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        publish(env, articles(20, "before"))
        producer = KafkaProducer(bootstrap_servers=kafka_servers)
        producer.send(prefix + ".articles", key=b"poison-1", value=b"{not json").get(timeout=30)
        producer.send(prefix + ".articles", key=b"poison-2", value=json.dumps({"schema": 99, "id": "x"}).encode()).get(
            timeout=30
        )
        producer.close()
        publish(env, articles(20, "after"))
        wait_until(
            lambda: counts(postgres_url)["articles"] >= 40 and counts(postgres_url)["dead_letters"] >= 2,
            120,
            "40 articles and 2 dead letters",
        )
        consumer = KafkaConsumer(
            prefix + ".deadletter",
            bootstrap_servers=kafka_servers,
            auto_offset_reset="earliest",
            consumer_timeout_ms=5000,
        )
        letters = {m.key: json.loads(m.value) for m in consumer}
        consumer.close()
        assert letters[b"poison-1"]["reason"].startswith("undecodable article: not JSON")
        assert letters[b"poison-1"]["value"] == "{not json"
        assert "unsupported schema version 99" in letters[b"poison-2"]["reason"]
        assert counts(postgres_url)["articles"] == 40
        port = worker_port(worker)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()
        assert health["status"] == "ok" and health["rules_version"]
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert "newsvigil_articles_in_total 42.0" in metrics and "newsvigil_dead_letters_total 2.0" in metrics
        assert "newsvigil_consumer_lag" in metrics and "newsvigil_processing_seconds_bucket" in metrics
    finally:
        assert stop(worker) == 0
