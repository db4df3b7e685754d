"""Publish articles to the bus: in-process (embedded) or Apache Kafka (kafka-python).

`publish` returns only once the bus has acknowledged every article; it raises otherwise, so the
caller never marks unacknowledged items as seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from newsvigil.bus import ALERTS_HEADER, ARTICLES, MemoryBus, encode_article
from newsvigil.records import Article

log = logging.getLogger("newsvigil.publish")
T = TypeVar("T")


class PublishFailed(Exception):
    """The bus did not acknowledge every article."""


class ArticlePublisher(Protocol):
    # True when publish waits on the network (Kafka's acks): the poller then runs it in a thread, so a
    # broker outage never freezes polling nor makes other feeds' fetches time out.
    blocking: bool

    def publish(self, articles: Sequence[Article]) -> None: ...

    def close(self) -> None: ...


class MemoryPublisher:
    """Embedded mode: hand articles to the in-process bus."""

    blocking = False  # stores at once, on the poller's loop (SQLite takes one writer)

    def __init__(self, bus: MemoryBus) -> None:
        self.bus = bus

    def publish(self, articles: Sequence[Article]) -> None:
        if articles:
            self.bus.publish(ARTICLES, list(articles))

    def close(self) -> None:
        pass


@dataclass(slots=True, eq=False)
class _Job:
    """Articles to hand to the bus, or other work to run on the publishing thread; `done` is its outcome."""

    articles: list[Article] = field(default_factory=list)
    work: Callable[[], Any] | None = None
    done: Future[Any] = field(default_factory=Future)


_STOP = _Job()


class QueuedPublisher:
    """Embedded mode, off the event loop: articles go to the in-process bus on a thread of their own,
    in batches that merge many feeds' articles, while the loop goes on fetching and parsing.

    `enqueue` queues one feed's articles and returns the future of their acknowledgement: done once
    the bus's handler returned for the batch holding them (the pipeline committed them), or failed
    with what the handler raised. A feed whose articles fail is never acknowledged, so its state
    stays and its articles come again; a batch that fails is retried feed by feed, so that what one
    feed's articles do to the handler holds back no other feed (two failures in a row, e.g. the
    database being down, fail the rest at once). At most `pending` articles wait (`enqueue` waits
    for room): memory stays bounded however far fetching runs ahead of storing. A batch takes what
    is queued when the thread comes back for more, up to `batch` articles, after waiting up to
    `linger` seconds for that many: a batch's fixed costs (its transaction, its statements, its story
    queries) are then paid once for many feeds even when storing keeps up with fetching (a cycle of
    500 changed and 500 unchanged feeds took ~20 % less CPU with 50 ms than without).

    `write` runs other work (the poller's feed states) on the same thread, after what was queued
    before it: SQLite takes one writer at a time, and a second writing thread would wait on the
    pipeline's transactions (even starve). The thread starts with the first job; `close` lets it
    finish what is queued, then stops it.
    """

    blocking = False

    def __init__(
        self,
        bus: MemoryBus,
        *,
        batch: int = 500,
        pending: int = 2_000,
        linger: float = 0.05,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.bus = bus
        self.on_close = on_close  # after the thread stopped: e.g. the storing process the bus hands to
        self.batch, self.pending, self.linger = batch, pending, linger
        self._lock = threading.Condition()
        self._jobs: deque[_Job] = deque()
        self._queued = 0  # articles queued or being handled
        self._room: list[Future[None]] = []  # enqueuers waiting for room
        self._thread: threading.Thread | None = None
        self._closed = False

    def _has_room(self, count: int) -> bool:
        return self._queued == 0 or self._queued + count <= self.pending

    def _put(self, job: _Job) -> None:
        """Queue a job (the lock held); start the thread with the first one."""
        if self._closed:
            raise PublishFailed("the publisher is closed")
        self._jobs.append(job)
        self._queued += len(job.articles)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="newsvigil-store", daemon=True)
            self._thread.start()
        self._lock.notify()

    async def enqueue(self, articles: Sequence[Article]) -> Future[None]:
        """Queue articles once there is room; the returned future is done when they are acknowledged."""
        job = _Job(list(articles))
        while True:
            with self._lock:
                if self._has_room(len(job.articles)):
                    self._put(job)
                    return job.done
                room: Future[None] = Future()
                self._room.append(room)
            await asyncio.wrap_future(room)

    async def write(self, work: Callable[[], T]) -> T:
        """Run `work` on the publishing thread, after what is queued; its result or exception."""
        job = _Job(work=work)
        with self._lock:
            self._put(job)
        result: T = await asyncio.wrap_future(job.done)
        return result

    def publish(self, articles: Sequence[Article]) -> None:
        """Blocking form of `enqueue`: returns once the articles are acknowledged (raises otherwise)."""
        if not articles:
            return
        job = _Job(list(articles))
        with self._lock:
            while not self._has_room(len(job.articles)):
                self._lock.wait()
            self._put(job)
        job.done.result()

    def close(self) -> None:
        """Handle what is queued, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._jobs.append(_STOP)
            self._lock.notify()
        if thread:
            thread.join()
        if self.on_close:
            self.on_close()

    def _take(self) -> list[_Job]:
        """The next jobs to run: one `write`, or articles of consecutive feeds up to `batch`."""
        with self._lock:
            while not self._jobs:
                self._lock.wait()
            if self._jobs[0].work is None:  # a small batch waits a little for company
                deadline = time.monotonic() + self.linger
                while self._queued < self.batch and self._jobs[-1] is not _STOP:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._lock.wait(left)
            first = self._jobs.popleft()
            jobs, count = [first], len(first.articles)
            while first.work is None and self._jobs:
                nxt = self._jobs[0]
                if nxt is _STOP or nxt.work is not None or count + len(nxt.articles) > self.batch:
                    break
                jobs.append(self._jobs.popleft())
                count += len(nxt.articles)
            return jobs

    def _run(self) -> None:
        while True:
            jobs = self._take()
            if jobs[0] is _STOP:
                return
            # A job whose caller gave up (cancelled) is skipped: its feed's state does not advance.
            live = [job for job in jobs if job.done.set_running_or_notify_cancel()]
            if live and live[0].work is not None:
                _settle(live[0], live[0].work)
            elif live:
                self._publish(live)
            with self._lock:
                self._queued -= sum(len(job.articles) for job in jobs)
                waiting, self._room = self._room, []
                self._lock.notify_all()  # blocking publishers waiting for room
            for room in waiting:
                _resolve(room)

    def _publish(self, jobs: list[_Job]) -> None:
        try:
            self._handle(jobs)
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0].done.set_exception(exc)
                return
            log.warning("a batch of %d feeds' articles failed (%s); retrying feed by feed", len(jobs), exc)
            error: BaseException = exc
            failures = 0
            for job in jobs:
                if failures >= 2:  # the handler itself is failing (the database is down): no point going on
                    job.done.set_exception(error)
                elif _settle(job, functools.partial(self._handle, [job])):
                    failures = 0
                else:
                    failures += 1
                    error = job.done.exception() or error
        else:
            for job in jobs:
                job.done.set_result(None)

    def _handle(self, jobs: list[_Job]) -> None:
        self.bus.publish(ARTICLES, [a for job in jobs for a in job.articles])


def _settle(job: _Job, work: Callable[[], Any]) -> bool:
    """Run `work` and settle `job.done` with its outcome; True when it succeeded."""
    try:
        result = work()
    except Exception as exc:
        job.done.set_exception(exc)
        return False
    job.done.set_result(result)
    return True


def _resolve(future: Future[None]) -> None:
    with contextlib.suppress(InvalidStateError):  # its waiter was cancelled
        future.set_result(None)


class KafkaPublisher:
    """Kafka mode: idempotent producer, acks=all, each send's future checked."""

    blocking = True

    def __init__(self, servers: list[str], topic: str, timeout: float = 30.0) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        self._kafka_error = KafkaError
        self.topic = topic
        self.timeout = timeout
        try:
            self.producer = KafkaProducer(
                bootstrap_servers=servers,
                client_id="newsvigil-ingest",
                acks="all",
                enable_idempotence=True,
                retries=2_147_483_647,
                max_in_flight_requests_per_connection=5,
                delivery_timeout_ms=int(timeout * 1000),
                request_timeout_ms=max(1000, int(timeout * 1000) - 5000),
                max_block_ms=int(timeout * 1000),
                linger_ms=5,
                compression_type="lz4",  # cheaper than gzip to write here and to read in the worker
            )
        except KafkaError as exc:
            raise PublishFailed(f"cannot reach Kafka at {','.join(servers)}: {exc}") from None

    def publish(self, articles: Sequence[Article], alerts: str | None = None) -> None:
        """Send and wait for every acknowledgement; `alerts` marks replayed articles' alert policy."""
        headers = [(ALERTS_HEADER, alerts.encode())] if alerts else None
        futures = [
            self.producer.send(self.topic, key=a.id.encode(), value=encode_article(a), headers=headers)
            for a in articles
        ]
        self.producer.flush(timeout=self.timeout)
        for future in futures:
            try:
                future.get(timeout=self.timeout)
            except self._kafka_error as exc:
                raise PublishFailed(f"Kafka did not acknowledge an article: {exc}") from None

    def close(self) -> None:
        self.producer.close(timeout=self.timeout)
