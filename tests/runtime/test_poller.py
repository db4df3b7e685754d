"""Polling cycles against a real server: only due feeds, a per-host limit, a host backing off."""

import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from newsvigil.bus import ARTICLES, MemoryBus
from newsvigil.ingest.feeds import FeedSource
from newsvigil.ingest.fetch import make_client
from newsvigil.ingest.guard import AddressPolicy
from newsvigil.ingest.publish import MemoryPublisher
from newsvigil.ingest.schedule import HostBackoff, Intervals
from newsvigil.runtime.poller import poll_cycle
from newsvigil.settings import Settings

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
