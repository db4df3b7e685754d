"""Benchmark: one polling cycle over 1,000 feeds on a local server, embedded mode.

A feed server (aiohttp, in its own process, on 50 loopback addresses so that feeds spread over 50
hosts as they do on the web) serves original RSS documents: half the feeds have 2 new items each
time they are asked (200), the other half answer 304 to the validators they sent before. After a
first cycle that reads everything, the measured cycle polls all 1,000 feeds through the whole
path (fetch, parse, seen-items, detection, storage) into a fresh SQLite file. Prints feeds/s of
the mixed cycle and the poller's CPU per 304 (from a cycle where every feed answers 304).
Usage: python bench/poll.py [--feeds 1000] [--hosts 50] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsvigil.bus import ARTICLES, MemoryBus  # noqa: E402
from newsvigil.ingest.feeds import FeedSource  # noqa: E402
from newsvigil.ingest.fetch import client_for  # noqa: E402
from newsvigil.ingest.publish import MemoryPublisher  # noqa: E402
from newsvigil.processors.pipeline import ArticleProcessor  # noqa: E402
from newsvigil.processors.rules import load_rules  # noqa: E402
from newsvigil.runtime.poller import poll_cycle  # noqa: E402
from newsvigil.settings import Settings  # noqa: E402
from newsvigil.storage.database import make_engine, session_factory  # noqa: E402
from newsvigil.storage.migrate import upgrade  # noqa: E402

SERVER = r"""
import sys
from aiohttp import web

port, hosts, mode_file, per_feed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
TOPICAL = "Washington retire près de {n} militaires des structures de l'Otan, selon le Pentagone."
ORDINARY = "La mairie annonce des travaux sur la ligne de tramway pendant l'été, numéro {n}."
asked = {}

def document(feed, first):
    items = []
    for n in range(first, first + per_feed):
        text = (TOPICAL if n % 5 == 0 else ORDINARY).format(n=1000 + n)
        items.append(f"<item><guid>{feed}-{n}</guid><title>{text[:60]}</title><description>{text}</description>"
                     f"<pubDate>Thu, 26 Nov 2026 10:{n % 60:02d}:00 GMT</pubDate></item>")
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Feed {feed}</title>"
            f"<language>fr</language>{''.join(items)}</channel></rss>")

async def feed(request):
    number = int(request.match_info["n"])
    mode = open(mode_file).read().strip()
    changing = mode == "mixed" and number % 2 == 0
    count = asked[number] = asked.get(number, 0) + (1 if changing else 0)
    etag = f'"{number}-{count}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(text=document(number, count * 2), content_type="application/rss+xml", headers={"ETag": etag})

app = web.Application()
app.router.add_get("/feed/{n}.xml", feed)

async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for h in range(1, hosts + 1):
        await web.TCPSite(runner, f"127.0.0.{h}", port).start()
    print("ready", flush=True)
    while True:
        await asyncio.sleep(3600)

import asyncio
asyncio.run(main())
"""


def start_feed_server(folder: Path, port: int, hosts: int, items: int = 10) -> tuple[subprocess.Popen, Path]:
    """SERVER in its own process, ready; and its mode file. Every document holds `items` items.
    "mixed": the even-numbered feeds change on every request (2 new items, a new ETag), the odd ones
    never do (304 to their ETag); "static": no feed changes any more."""
    mode = folder / "mode"
    mode.write_text("mixed")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(hosts), str(mode), str(items)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    if server.stdout.readline().strip() != "ready":
        server.terminate()
        raise RuntimeError(f"the feed server did not start (port {port} taken?)")
    return server, mode


def feed_urls(feeds: int, hosts: int, port: int) -> list[str]:
    """The farm's feed URLs, spread round-robin over its hosts."""
    return [f"http://127.0.0.{1 + i % hosts}:{port}/feed/{i}.xml" for i in range(feeds)]


def farm_settings(database_url: str, concurrency: int) -> Settings:
    """Settings for polling the farm: loopback allowed, `concurrency` feeds at once, 2 per host."""
    return Settings(
        database_url=database_url, allow_private_networks=True, fetch_concurrency=concurrency, fetch_per_host=2
    )


def embedded_pipeline(settings: Settings) -> tuple[Engine, sessionmaker[Session], MemoryPublisher]:
    """What `newsvigil run` wires in the embedded mode, on a fresh database: the schema upgraded,
    an in-process bus handing each batch to the real ArticleProcessor (detect, store, stories)."""
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    processor = ArticleProcessor(
        load_rules(settings.topics), sessions, None, tuple(settings.language_list), timedelta(hours=72)
    )
    bus = MemoryBus()
    bus.subscribe(ARTICLES, processor.handle)
    return engine, sessions, MemoryPublisher(bus)


async def one_cycle(feeds, sessions, publisher, settings) -> tuple[list, float, float]:
    async with client_for(settings) as client:
        wall, cpu = time.perf_counter(), time.process_time()
        reports = await poll_cycle(client, feeds, sessions, publisher, settings)
        return reports, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--port", type=int, default=18480)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, mode = start_feed_server(Path(tmp), args.port, args.hosts)
        try:
            settings = farm_settings(f"sqlite:///{tmp}/poll.db", args.concurrency)
            engine, sessions, publisher = embedded_pipeline(settings)
            feeds = [FeedSource(url) for url in feed_urls(args.feeds, args.hosts, args.port)]

            first, seconds, _ = asyncio.run(one_cycle(feeds, sessions, publisher, settings))
            print(
                f"first cycle (every feed new, 10 items each): {len(feeds) / seconds:,.0f} feeds/s "
                f"({sum(r.new for r in first):,} new articles, {sum(bool(r.error) for r in first)} errors)"
            )
            mixed, seconds, cpu = asyncio.run(one_cycle(feeds, sessions, publisher, settings))
            statuses = [r.status for r in mixed]
            print(
                f"mixed cycle: {len(feeds) / seconds:,.0f} feeds/s ({statuses.count(200)} x 200 with "
                f"{sum(r.new for r in mixed):,} new articles, {statuses.count(304)} x 304, "
                f"{sum(bool(r.error) for r in mixed)} errors; {seconds:.2f} s, poller CPU {cpu:.2f} s)"
            )
            mode.write_text("static")
            asyncio.run(one_cycle(feeds, sessions, publisher, settings))  # the changing half gets its new ETag
            quiet, seconds, cpu = asyncio.run(one_cycle(feeds, sessions, publisher, settings))
            not_modified = sum(r.status == 304 for r in quiet)
            print(
                f"all-304 cycle: {len(feeds) / seconds:,.0f} feeds/s; poller CPU per 304: "
                f"{cpu / max(1, not_modified) * 1000:.2f} ms ({not_modified} x 304)"
            )
            engine.dispose()
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
