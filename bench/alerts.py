"""Benchmark: latency from an article stored to its alert received by a webhook, embedded mode.

Feeds articles at a steady rate (default 100/s for 30 s, in batches of a tenth of a second, as feed
polls deliver them) through the embedded
pipeline (SQLite file, detection, stories, outbox, Standard Webhooks delivery) to a real HTTP
receiver on 127.0.0.1, and prints p50/p99 of stored -> received.
Usage: python bench/alerts.py [--rate 100] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsvigil.processors.delivery import Dispatcher  # noqa: E402
from newsvigil.processors.pipeline import ArticleProcessor  # noqa: E402
from newsvigil.processors.rules import load_rules  # noqa: E402
from newsvigil.records import Article, utcnow  # noqa: E402
from newsvigil.settings import Settings  # noqa: E402
from newsvigil.storage.alerts import add_subscription  # noqa: E402
from newsvigil.storage.database import make_engine, session_factory  # noqa: E402
from newsvigil.storage.migrate import upgrade  # noqa: E402

received: dict[str, float] = {}
stored: dict[str, float] = {}


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        now = time.perf_counter()
        for alert in body["alerts"]:
            received.setdefault(alert["article"]["id"], now)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


# A vocabulary of 4,000 made-up words: reports about different things share few words, as in real news.
WORDS = [
    f"{a}{b}{c}"
    for a in ("ba", "no", "ka", "ve", "sto", "mi", "du", "ta", "ri", "lo")
    for b in (
        "ik",
        "ov",
        "sen",
        "ard",
        "ul",
        "em",
        "ot",
        "ar",
        "il",
        "un",
        "es",
        "om",
        "ag",
        "ep",
        "uz",
        "ir",
        "al",
        "on",
        "et",
        "yr",
    )
    for c in (
        "a",
        "e",
        "i",
        "o",
        "u",
        "an",
        "en",
        "in",
        "or",
        "as",
        "is",
        "os",
        "us",
        "ka",
        "ta",
        "na",
        "la",
        "ma",
        "ra",
        "sa",
    )
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        settings = Settings(database_url=url, allow_private_networks=True)
        with sessions.begin() as session:
            add_subscription(
                session,
                name="bench",
                channel="webhook",
                target=f"http://127.0.0.1:{server.server_port}/hook",
                topics="",
                languages="",
                keywords="",
                min_figure=None,
                kinds="new_story,new_report,new_figure",
                mode="instant",
                digest_minutes=60,
                urgent_figure=None,
            )
        dispatcher = Dispatcher(sessions, settings).start(settings.delivery_interval)
        current: list[str] = []

        def deliver() -> None:
            for article_id in current:
                stored[article_id] = time.perf_counter()
            dispatcher.notify()

        processor = ArticleProcessor(
            load_rules(ROOT / "seeds" / "topics.yaml"), sessions, after_commit=deliver, story_window=timedelta(hours=72)
        )
        rng = random.Random(5)
        total = args.rate * args.seconds
        per_tick = max(1, args.rate // 10)  # articles arrive as feed polls deliver them: in small batches
        start = time.perf_counter()
        for tick, first in enumerate(range(0, total, per_tick)):
            delay = start + tick * per_tick / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            batch = []
            for i in range(first, min(first + per_tick, total)):
                words = " ".join(rng.choice(WORDS) for _ in range(20))  # distinct stories, as most reports are
                batch.append(
                    Article(
                        id=f"a{i}",
                        feed_url="bench",
                        source=f"Outlet {i % 7}",
                        language="en",
                        title=f"Nato report {i}: about {1000 + i:,} troops {words}",
                        summary=words,
                        link=f"https://bench.example/{i}",
                        published=utcnow(),
                    )
                )
            current[:] = [a.id for a in batch]
            processor.handle(batch)
        elapsed = time.perf_counter() - start
        deadline = time.time() + 30
        while len(received) < len(stored) and time.time() < deadline:
            time.sleep(0.1)
        dispatcher.close()
        engine.dispose()
    server.shutdown()
    latencies = sorted((received[k] - stored[k]) * 1000 for k in stored if k in received)
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(
        f"alerts: {len(latencies):,}/{len(stored):,} delivered at {total / elapsed:.0f} articles/s offered; "
        f"stored -> webhook received p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms"
    )


if __name__ == "__main__":
    main()
