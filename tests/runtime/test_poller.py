"""Polling cycles against a real server: only due feeds, a per-host limit, a host backing off."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from werkzeug import Response

from newsvigil.bus import ARTICLES, MemoryBus
from newsvigil.ingest.feeds import FeedSource
from newsvigil.ingest.fetch import make_client
from newsvigil.ingest.guard import AddressPolicy
from newsvigil.ingest.publish import MemoryPublisher, QueuedPublisher
from newsvigil.ingest.schedule import HostBackoff, Intervals
from newsvigil.runtime.poller import poll_cycle
from newsvigil.settings import Settings
from newsvigil.storage.models import SeenItem
from newsvigil.storage.repositories import feed_states

FEED = b"<rss version='2.0'><channel><title>T</title><item><guid>1</guid><title>Hello</title></item></channel></rss>"


@pytest.fixture
def server():
    with HTTPServer(host="127.0.0.1", threaded=True) as httpserver:
        yield httpserver


def settings(**extra) -> Settings:
    return Settings(**{"allow_private_networks": True, "fetch_concurrency": 8, "fetch_per_host": 2, **extra})


async def cycle(feeds, sessions, config, **options):
    bus = MemoryBus()
    received = []
    bus.subscribe(ARTICLES, received.extend)
    async with make_client("newsvigil-test", 5, AddressPolicy(allow_private=True)) as client:
        reports = await poll_cycle(client, feeds, sessions, MemoryPublisher(bus), config, **options)
    return reports, received


async def test_only_due_feeds_are_polled(server, sessions):
    server.expect_request("/a.xml").respond_with_data(FEED)
    server.expect_request("/b.xml").respond_with_data(FEED)
    feeds = [FeedSource(server.url_for("/a.xml")), FeedSource(server.url_for("/b.xml"))]
    first, received = await cycle(feeds, sessions, settings(), due_only=True)
    assert [r.status for r in first] == [200, 200] and len(received) == 2
    again, _ = await cycle(feeds, sessions, settings(), due_only=True)
    assert again == []  # next poll in poll_interval seconds
    forced, _ = await cycle(feeds, sessions, settings())  # `run --once` polls everything
    assert [r.status for r in forced] == [200, 200]


async def test_per_host_limit(server, sessions):
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def slow(request):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.3)
        with lock:
            state["now"] -= 1
        return Response(FEED, content_type="application/rss+xml")

    for i in range(6):
        server.expect_request(f"/f{i}.xml").respond_with_handler(slow)
    reports, _ = await cycle([FeedSource(server.url_for(f"/f{i}.xml")) for i in range(6)], sessions, settings())
    assert [r.status for r in reports] == [200] * 6
    assert state["max"] == 2  # fetch_concurrency is 8, but one host gets 2 at a time


async def test_a_refusing_host_backs_off_as_a_whole(server, sessions):
    server.expect_request("/busy.xml").respond_with_data("busy", status=429)
    feeds = [FeedSource(server.url_for(f"/busy.xml?feed={i}")) for i in range(3)]
    backoff = HostBackoff(after=3, intervals=Intervals(300, 60, 3600))
    first, _ = await cycle(feeds, sessions, settings(fetch_per_host=1), backoff=backoff)
    assert [r.status for r in first] == [429] * 3 and all("HTTP 429" in r.error for r in first)
    served = len(server.log)
    second, _ = await cycle(feeds, sessions, settings(), backoff=backoff)
    assert all(r.deferred and "refused repeatedly" in r.deferred for r in second)
    assert len(server.log) == served  # nothing was sent to the host


class KeepAliveFeeds:
    """A real HTTP/1.1 server that keeps connections open (werkzeug's always closes them), on one
    loopback address: it counts the connections it accepted and logs the feeds asked, in order.
    Each feed has a fixed ETag and answers 304 to it."""

    def __init__(self, address: str, log: list[str], lock: threading.Lock) -> None:
        owner = self
        self.connections = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with lock:
                    owner.connections += 1

            def do_GET(self) -> None:
                with lock:
                    log.append(f"{address}{self.path}")
                etag = f'"{self.path}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                body = FEED.replace(b"<guid>1</guid>", f"<guid>{self.path}</guid>".encode())
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_feeds_are_polled_host_by_host_each_lane_reusing_its_connection(sessions):
    """Feeds listed host after host in turn are still fetched host by host: a lane keeps to its
    host until its feeds are done (a host that gets none waits), and its one connection serves them
    all, 304s included."""
    log: list[str] = []
    lock = threading.Lock()
    hosts = [KeepAliveFeeds(f"127.0.0.{n}", log, lock) for n in (1, 2, 3)]
    try:
        feeds = [FeedSource(f"http://{h.server.server_address[0]}:{h.port}/f{i}.xml") for i in range(4) for h in hosts]
        config = settings(fetch_concurrency=2, fetch_per_host=1)
        first, _ = await cycle(feeds, sessions, config)
        assert [r.status for r in first] == [200] * 12 and [r.url for r in first] == [f.url for f in feeds]
        assert [h.connections for h in hosts] == [1, 1, 1]
        a, b, c = ([i for i, asked in enumerate(log) if asked.startswith(f"127.0.0.{n}/")] for n in (1, 2, 3))
        assert min(c) > min(max(a), max(b))  # the third host waited for a lane to finish a host
        second, _ = await cycle(feeds, sessions, config)
        assert [r.status for r in second] == [304] * 12
        assert [h.connections for h in hosts] == [2, 2, 2]  # one more each (a new client), none per 304
        # The host with the most feeds goes first, wherever its feeds are in the list.
        log.clear()
        extra = [FeedSource(f"http://127.0.0.3:{hosts[2].port}/x{i}.xml") for i in range(2)]
        await cycle(feeds + extra, sessions, settings(fetch_concurrency=1, fetch_per_host=1))
        assert all(asked.startswith("127.0.0.3/") for asked in log[:6]) and len(log) == 14
    finally:
        for h in hosts:
            h.close()


async def test_stored_off_the_loop_and_state_advances_only_once_acknowledged(server, sessions):
    """Embedded mode: the queued publisher stores on its own thread; while it fails (the database
    down) every feed is deferred with its validators and seen items unchanged, and its articles come
    again once it works."""
    for i in range(3):
        server.expect_request(f"/q{i}.xml").respond_with_data(
            FEED.replace(b"<guid>1</guid>", f"<guid>q{i}</guid>".encode()), headers={"ETag": f'"q{i}"'}
        )
    feeds = [FeedSource(server.url_for(f"/q{i}.xml")) for i in range(3)]
    bus, stored, down = MemoryBus(), [], [True]

    def store(batch) -> None:
        if down[0]:
            raise ConnectionError("database unavailable")
        stored.append((threading.current_thread().name, [a.id for a in batch]))

    bus.subscribe(ARTICLES, store)
    publisher = QueuedPublisher(bus)
    try:
        async with make_client("newsvigil-test", 5, AddressPolicy(allow_private=True)) as client:
            failed = await poll_cycle(client, feeds, sessions, publisher, settings())
            assert all(r.status == 200 and r.new == 0 and "publishing failed" in r.deferred for r in failed)
            with sessions() as s:
                assert all(f.etag is None for f in feed_states(s, [f.url for f in feeds]).values())
                assert s.scalar(select(func.count()).select_from(SeenItem)) == 0
            down[0] = False
            again = await poll_cycle(client, feeds, sessions, publisher, settings())
        assert [r.new for r in again] == [1, 1, 1] and not any(r.deferred for r in again)
        assert {thread for thread, _ in stored} == {"newsvigil-store"}
        assert sum(len(ids) for _, ids in stored) == 3
        with sessions() as s:
            states = feed_states(s, [f.url for f in feeds])
            assert s.scalar(select(func.count()).select_from(SeenItem)) == 3
        assert sorted(state.etag for state in states.values()) == ['"q0"', '"q1"', '"q2"']
    finally:
        publisher.close()
