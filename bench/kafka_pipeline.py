"""Benchmark: Kafka mode publish -> stored, one faust worker, PostgreSQL.

Needs the services (`make services`). Prints (1) sustained throughput: N articles published as
fast as kafka-python can while one worker consumes, articles/s from the first send to the last
row stored; (2) latency publish -> stored (p50/p99) at a steady 200 articles/s.
Usage: python bench/kafka_pipeline.py [--articles 20000] [--rate 200] [--seconds 30] [--on-topic 1.0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from newsvigil.ingest.publish import KafkaPublisher  # noqa: E402
from newsvigil.records import Article, utcnow  # noqa: E402
from tests.kafka_support import counts, kafka_env, start_worker, stop, wait_until  # noqa: E402

POSTGRES = os.environ.get(
    "NEWSVIGIL_TEST_POSTGRES", "postgresql+psycopg://newsvigil:newsvigil@127.0.0.1:55432/newsvigil"
)
KAFKA = os.environ.get("NEWSVIGIL_TEST_KAFKA", "kafka://127.0.0.1:9092").removeprefix("kafka://").split(",")


def fresh_database() -> str:
    url = make_url(POSTGRES)
    name = f"nv_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database, autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def article(i: int, tag: str, on_topic: bool = True) -> Article:
    """An on-topic report (NATO, a figure: it opens or joins a story) or an ordinary one."""
    if not on_topic:
        return Article(
            id=f"{tag}{i:07d}",
            feed_url="https://bench.example/feed",
            source="Bench",
            title=f"Council approves budget for bridge repairs, item {i}",
            summary="The works will start in the spring and last two years, officials said.",
            language="en",
            fetched_at=utcnow(),
        )
    return Article(
        id=f"{tag}{i:07d}",
        feed_url="https://bench.example/feed",
        source="Bench",
        title=f"Nato allies: about {1000 + i % 5000:,} US troops to leave Germany",
        summary="Officials in Brussels said the withdrawal would be completed next year. "
        "The plan concerns headquarters staff and rotational brigades.",
        language="en",
        fetched_at=utcnow(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument(
        "--on-topic",
        type=float,
        default=1.0,
        help="share of articles on a topic (each opens or joins a story); 1.0 is the worst case",
    )
    args = parser.parse_args()
    database = fresh_database()
    env = kafka_env(KAFKA, database)
    worker = start_worker(env, Path("/tmp/newsvigil-bench-worker.log"))
    publisher = KafkaPublisher(KAFKA, env["NEWSVIGIL_KAFKA_TOPIC_PREFIX"] + ".articles")
    try:
        publisher.publish([article(0, "warm")])
        wait_until(lambda: counts(database)["articles"] >= 1, 120, "the worker to start")

        started = time.perf_counter()
        for i in range(0, args.articles, 1000):
            publisher.publish(
                [
                    article(j, "t", (j * 7919 % 100) < args.on_topic * 100)
                    for j in range(i, min(i + 1000, args.articles))
                ]
            )
        published = time.perf_counter() - started
        wait_until(lambda: counts(database)["articles"] >= args.articles + 1, 600, "all articles stored")
        elapsed = time.perf_counter() - started
        print(
            f"throughput ({args.on_topic:.0%} on topic): {args.articles / elapsed:,.0f} articles/s publish->stored with one worker "
            f"({args.articles:,} articles in {elapsed:.1f} s; publishing alone took {published:.1f} s)"
        )

        total = args.rate * args.seconds
        t0 = time.perf_counter()
        for i in range(total):
            target = t0 + i / args.rate
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            publisher.publish([article(i, "l")])
        wait_until(lambda: counts(database)["articles"] >= args.articles + 1 + total, 300, "latency articles stored")
        engine = create_engine(database)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT a.fetched_at, d.detected_at FROM articles a JOIN detections d ON d.article_id = a.id "
                    "WHERE a.id LIKE 'l%'"
                )
            ).all()
        engine.dispose()
        latencies = sorted((d.astimezone(UTC) - f.astimezone(UTC)).total_seconds() * 1000 for f, d in rows)
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(
            f"latency at {args.rate} articles/s for {args.seconds} s: p50 {p50:.0f} ms, p99 {p99:.0f} ms "
            f"({len(latencies):,} articles)"
        )
    finally:
        publisher.close()
        stop(worker)


if __name__ == "__main__":
    main()
