"""Benchmark: polling cycles over 1,000 feeds on a local server, embedded mode as `newsvigil run` builds it.

A feed server (aiohttp, in its own process, on 50 loopback addresses so that feeds spread over 50
hosts as they do on the web) serves original RSS documents: half the feeds have 2 new items each
time they are asked (200), the other half answer 304 to the validators they sent before. Every
cycle goes through the whole path (fetch, parse, seen items, detection, storage, stories) into a
fresh SQLite file, the pipeline on its own thread as in `newsvigil run`. Prints feeds/s and the
poller's CPU per feed (its process, every thread) of: the first cycle (every feed new, 10 items
each: 10,000 articles), the mixed cycle (500 x 200 with 2 new items each, 500 x 304), and a cycle
where every feed answers 304; and the load average before and after, since the machine is shared.
Usage: python bench/poll.py [--feeds 1000] [--hosts 50] [--concurrency 32] [--first-only]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsvigil.ingest.feeds import FeedSource  # noqa: E402
from newsvigil.ingest.fetch import client_for  # noqa: E402
from newsvigil.ingest.publish import QueuedPublisher  # noqa: E402
from newsvigil.runtime.components import Components, connect  # noqa: E402
from newsvigil.runtime.monitor import embedded_publisher  # noqa: E402
from newsvigil.runtime.poller import poll_cycle  # noqa: E402
from newsvigil.settings import Settings  # noqa: E402

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


def embedded_pipeline(settings: Settings) -> tuple[Components, QueuedPublisher]:
    """What `newsvigil run` wires in the embedded mode, on a fresh database: migrated and connected,
    the pipeline (detect, store, stories) on the publisher's own thread."""
    components = connect(settings)
    return components, embedded_publisher(components)


def cpu_seconds(exclude: int) -> float:
    """CPU time of this process (all its threads) and of its live child processes but `exclude` (the
    feed server): work handed to a helper process counts too."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == exclude:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # ppid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


async def one_cycle(feeds, sessions, publisher, settings, server: int) -> tuple[list, float, float]:
    async with client_for(settings) as client:
        wall, cpu = time.perf_counter(), cpu_seconds(server)
        reports = await poll_cycle(client, feeds, sessions, publisher, settings)
        return reports, time.perf_counter() - wall, cpu_seconds(server) - cpu


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(args, sessions, publisher, settings, mode: Path, pid: int) -> None:
    feeds = [FeedSource(url) for url in feed_urls(args.feeds, args.hosts, args.port)]
    print(load())
    first, seconds, cpu = asyncio.run(one_cycle(feeds, sessions, publisher, settings, pid))
    print(
        f"first cycle (every feed new, 10 items each): {len(feeds) / seconds:,.0f} feeds/s "
        f"({sum(r.new for r in first):,} new articles, {sum(bool(r.error) for r in first)} errors; "
        f"{seconds:.2f} s, poller CPU {cpu:.2f} s = {cpu / len(feeds) * 1000:.2f} ms per feed)"
    )
    if args.first_only:
        return
    mixed, seconds, cpu = asyncio.run(one_cycle(feeds, sessions, publisher, settings, pid))
    statuses = [r.status for r in mixed]
    print(
        f"mixed cycle: {len(feeds) / seconds:,.0f} feeds/s ({statuses.count(200)} x 200 with "
        f"{sum(r.new for r in mixed):,} new articles, {statuses.count(304)} x 304, "
        f"{sum(bool(r.error) for r in mixed)} errors; {seconds:.2f} s, poller CPU {cpu:.2f} s = "
        f"{cpu / len(feeds) * 1000:.2f} ms per feed)"
    )
    mode.write_text("static")
    asyncio.run(one_cycle(feeds, sessions, publisher, settings, pid))  # the changing half gets its new ETag
    quiet, seconds, cpu = asyncio.run(one_cycle(feeds, sessions, publisher, settings, pid))
    not_modified = sum(r.status == 304 for r in quiet)
    print(
        f"all-304 cycle: {len(feeds) / seconds:,.0f} feeds/s; poller CPU per 304: "
        f"{cpu / max(1, not_modified) * 1000:.2f} ms ({not_modified} x 304)"
    )
    print(load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--port", type=int, default=18480)
    parser.add_argument("--first-only", action="store_true", help="stop after the first cycle (to profile it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, mode = start_feed_server(Path(tmp), args.port, args.hosts)
        try:
            settings = farm_settings(f"sqlite:///{tmp}/poll.db", args.concurrency)
            components, publisher = embedded_pipeline(settings)
            try:
                measure(args, components.sessions, publisher, settings, mode, server.pid)
            finally:
                publisher.close()
                components.close()
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
