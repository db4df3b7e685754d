"""The embedded mode's queued publisher: batches across feeds, acknowledgements, failures kept apart."""

import asyncio
import threading

import pytest

from newsvigil.bus import ARTICLES, MemoryBus
from newsvigil.ingest.publish import PublishFailed, QueuedPublisher
from newsvigil.records import Article


def articles(feed: str, n: int) -> list[Article]:
    return [
        Article(id=f"{feed}-{i}", feed_url=f"https://{feed}.example/rss", source=feed, title=f"t{i}", summary="")
        for i in range(n)
    ]


class Subscriber:
    """A bus subscriber that records each batch it handled (and in which thread); it can be held,
    or fail for a feed's articles or for everything."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()
        self.gate, self.entered = threading.Event(), threading.Event()
        self.gate.set()
        self.fail_feed: str | None = None
        self.down = False

    def __call__(self, batch) -> None:
        self.entered.set()
        self.gate.wait(10)
        self.threads.add(threading.current_thread().name)
        if self.down:
            raise ConnectionError("database unavailable")
        if self.fail_feed and any(a.source == self.fail_feed for a in batch):
            raise ValueError(f"cannot take {self.fail_feed}")
        self.batches.append([a.id for a in batch])


@pytest.fixture
def queued():
    bus, subscriber = MemoryBus(), Subscriber()
    bus.subscribe(ARTICLES, subscriber)
    publisher = QueuedPublisher(bus, batch=25, pending=40)
    yield publisher, subscriber
    subscriber.gate.set()
    publisher.close()


async def test_feeds_queued_meanwhile_go_in_one_batch_off_the_loop(queued):
    publisher, subscriber = queued
    subscriber.gate.clear()  # the first feed's batch is being stored while three more arrive
    first = await publisher.enqueue(articles("a", 5))
    assert await asyncio.to_thread(subscriber.entered.wait, 5)
    others = [await publisher.enqueue(articles(feed, 5)) for feed in "bcd"]
    subscriber.gate.set()
    await asyncio.gather(*(asyncio.wrap_future(f) for f in [first, *others]))
    assert subscriber.batches[0] == [f"a-{i}" for i in range(5)]
    assert sorted(subscriber.batches[1]) == sorted(f"{feed}-{i}" for feed in "bcd" for i in range(5))
    assert subscriber.threads == {"newsvigil-store"}


async def test_a_batch_never_exceeds_its_size_and_the_backlog_is_bounded(queued):
    publisher, subscriber = queued
    subscriber.gate.clear()
    futures = [await publisher.enqueue(articles("a", 20))]  # being handled: 20 of 40 pending
    futures.append(await publisher.enqueue(articles("b", 20)))  # 40: full
    waiting = asyncio.ensure_future(publisher.enqueue(articles("c", 20)))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # no room until a batch is stored
    subscriber.gate.set()
    futures.append(await waiting)
    await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    assert [len(b) for b in subscriber.batches] == [20, 20, 20]  # 20 + 20 > 25: never merged


async def test_a_feed_the_handler_refuses_holds_back_no_other_feed(queued):
    publisher, subscriber = queued
    subscriber.gate.clear()
    first = await publisher.enqueue(articles("a", 2))
    bad, good = await publisher.enqueue(articles("bad", 2)), await publisher.enqueue(articles("good", 2))
    subscriber.fail_feed = "bad"
    subscriber.gate.set()
    await asyncio.wrap_future(first)
    await asyncio.wrap_future(good)
    with pytest.raises(ValueError, match="cannot take bad"):
        await asyncio.wrap_future(bad)
    assert ["good-0", "good-1"] in subscriber.batches  # retried alone, and acknowledged


async def test_when_the_handler_keeps_failing_every_feed_fails_and_nothing_is_lost(queued):
    publisher, subscriber = queued
    subscriber.gate.clear()
    first = await publisher.enqueue(articles("a", 2))
    rest = [await publisher.enqueue(articles(feed, 2)) for feed in "bcdef"]
    subscriber.down = True
    subscriber.gate.set()
    for future in [first, *rest]:
        with pytest.raises(ConnectionError):
            await asyncio.wrap_future(future)
    subscriber.down = False  # back: the same articles, published again, are stored
    await asyncio.wrap_future(await publisher.enqueue(articles("b", 2)))
    assert subscriber.batches == [["b-0", "b-1"]]


async def test_writes_run_on_the_same_thread_after_what_was_queued(queued):
    publisher, subscriber = queued
    subscriber.gate.clear()
    stored = await publisher.enqueue(articles("a", 3))
    write = asyncio.ensure_future(publisher.write(lambda: (threading.current_thread().name, list(subscriber.batches))))
    await asyncio.sleep(0.1)
    assert not write.done()
    subscriber.gate.set()
    thread, seen = await write
    assert stored.done() and thread == "newsvigil-store" and seen == [["a-0", "a-1", "a-2"]]
    with pytest.raises(ZeroDivisionError):
        await publisher.write(lambda: 1 / 0)


def test_blocking_publish_and_close_drains_the_queue():
    bus, subscriber = MemoryBus(), Subscriber()
    bus.subscribe(ARTICLES, subscriber)
    publisher = QueuedPublisher(bus)
    publisher.publish(articles("a", 3))  # returns once handled
    assert subscriber.batches == [["a-0", "a-1", "a-2"]]

    async def queue_more():
        return await publisher.enqueue(articles("b", 2))

    pending = asyncio.run(queue_more())
    publisher.close()
    assert pending.result(timeout=0) is None and subscriber.batches[-1] == ["b-0", "b-1"]
    with pytest.raises(PublishFailed, match="closed"):
        publisher.publish(articles("c", 1))
