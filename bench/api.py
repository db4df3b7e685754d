"""Benchmark: the stories endpoint of `newsvigil serve` over 100,000 stored articles.

Stores N generated articles (20 % on topic, in eight languages, over 300 days) through the real
pipeline (detection, stories) into a fresh database, starts `newsvigil serve` in its own process,
and sends GET /api/stories requests over HTTP: the first page, filtered pages (topic, language,
outlet, dates) and deeper pages by cursor. Prints p50/p99 at a steady rate (what a dashboard's users
see), and requests/s with p50/p99 when C clients send back to back (saturation: latency is queueing).
Usage: python bench/api.py [--articles 100000] [--rate 50] [--requests 2000] [--clients 8] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.detect import ORDINARY, TOPICAL  # noqa: E402
from newsvigil.processors.pipeline import ArticleProcessor  # noqa: E402
from newsvigil.processors.rules import load_rules  # noqa: E402
from newsvigil.records import Article  # noqa: E402
from newsvigil.storage.database import make_engine, session_factory  # noqa: E402
from newsvigil.storage.migrate import upgrade  # noqa: E402

OUTLETS = [f"Outlet {i}" for i in range(40)]


def store(database_url: str, count: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    upgrade(database_url)
    engine = make_engine(database_url)
    processor = ArticleProcessor(load_rules(ROOT / "seeds" / "topics.yaml"), session_factory(engine))
    langs = list(ORDINARY)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = sorted(start + timedelta(minutes=rng.randrange(0, 60 * 24 * 300)) for _ in range(count))
    started = time.perf_counter()
    for i in range(0, count, 1000):
        batch = []
        for n in range(i, min(count, i + 1000)):
            lang = rng.choice(langs)
            sentences = [rng.choice(ORDINARY[lang]) for _ in range(3)]
            if rng.random() < 0.2:
                # distinct reports, as on different events: their own figure and words of their own
                figure = str(rng.randrange(100, 20_000))
                sentences = [
                    re.sub(r"\d[\d.,\u00a0 ]*\d|\d", figure, rng.choice(TOPICAL[lang])),
                    " ".join(f"ort{rng.randrange(50_000)}" for _ in range(40)) + ".",
                ]
            batch.append(
                Article(
                    id=f"bench-{n}",
                    feed_url=f"https://feeds.example/{n % 40}",
                    source=OUTLETS[n % 40],
                    title=f"{sentences[0][:90]} ({n})",
                    summary=" ".join(sentences[1:]),
                    link=f"https://news.example/{n}",
                    published=times[n],
                    language=lang,
                )
            )
        processor.process(batch)
        if (i // 1000) % 10 == 9:
            print(
                f"  stored {i + 1000:,}/{count:,} ({(i + 1000) / (time.perf_counter() - started):,.0f}/s)",
                file=sys.stderr,
            )
    engine.dispose()


async def _queries(client: httpx.AsyncClient) -> list[dict]:
    """The mix: first page, filtered pages (topic, language, outlet, dates), deeper pages by cursor."""
    first = (await client.get("/api/stories", params={"limit": 50})).json()
    deeper = [first["next"]]
    for _ in range(5):
        deeper.append((await client.get("/api/stories", params={"limit": 50, "cursor": deeper[-1]})).json()["next"])
    outlet = first["items"][0]["outlets"][0]
    return [
        {},
        {"topic": "nato"},
        {"topic": "greenland"},
        {"language": "fr"},
        {"language": "pl"},
        {"outlet": outlet},
        {"since": "2026-06-01", "until": "2026-07-01"},
    ] + [{"cursor": c} for c in deeper if c]


async def _get(client: httpx.AsyncClient, params: dict, latencies: list[float], sent: float) -> None:
    response = await client.get("/api/stories", params={"limit": 50, **params})
    latencies.append(time.perf_counter() - sent)
    assert response.status_code == 200, response.text


async def saturate(base: str, requests: int, clients: int) -> tuple[float, list[float]]:
    """Closed loop: `clients` send back to back. (requests/s, latencies)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        queries = await _queries(client)
        latencies: list[float] = []
        queue = list(range(requests))

        async def worker() -> None:
            while queue:
                n = queue.pop()
                await _get(client, queries[n % len(queries)], latencies, time.perf_counter())

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return requests / (time.perf_counter() - started), latencies


async def steady(base: str, rate: float, seconds: float) -> list[float]:
    """Open loop: requests sent at a steady `rate` whatever the answers; latency from the planned send time."""
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=64)) as client:
        queries = await _queries(client)
        latencies: list[float] = []
        tasks = []
        started = time.perf_counter()
        for n in range(int(rate * seconds)):
            planned = started + n / rate
            await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            tasks.append(asyncio.create_task(_get(client, queries[n % len(queries)], latencies, planned)))
        await asyncio.gather(*tasks)
        return latencies


def _percentiles(latencies: list[float]) -> str:
    cuts = statistics.quantiles(latencies, n=100)
    return f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=50, help="steady requests/s of the latency run")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=18490)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite:///{tmp}/api.db"
        store(database_url, args.articles)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSVIGIL_")}
        env["NEWSVIGIL_DATABASE_URL"] = database_url
        server = subprocess.Popen(
            [sys.executable, "-m", "newsvigil.cli", "serve", "--port", str(args.port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(120):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            stories = httpx.get(f"{base}/metrics").text.split('newsvigil_rows{table="stories"} ')[1].split()[0]
            asyncio.run(saturate(base, 100, args.clients))  # warm-up
            throughput, busy = asyncio.run(saturate(base, args.requests, args.clients))
            calm = asyncio.run(steady(base, args.rate, args.seconds))
        finally:
            server.terminate()
            server.wait()
    print(f"GET /api/stories over {args.articles:,} articles ({float(stories):,.0f} stories), one server process:")
    print(f"  steady {args.rate:g} requests/s for {args.seconds:g} s: {_percentiles(calm)}")
    print(f"  saturated by {args.clients} clients: {throughput:,.0f} requests/s, {_percentiles(busy)}")


if __name__ == "__main__":
    main()
