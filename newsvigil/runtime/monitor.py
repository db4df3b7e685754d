"""Polling feeds into a bus, forever or once; in the embedded mode the bus is in-process and feeds
the pipeline directly, in Kafka mode it is the articles topic."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from newsvigil.bus import ARTICLES, MemoryBus
from newsvigil.ingest.feeds import FeedSource, load_feed_list
from newsvigil.ingest.fetch import client_for
from newsvigil.ingest.publish import ArticlePublisher, QueuedPublisher
from newsvigil.ingest.schedule import HostBackoff
from newsvigil.outage import Outage
from newsvigil.processors.delivery import Dispatcher
from newsvigil.processors.detect import wants_full_text
from newsvigil.processors.pipeline import log_failed, notify
from newsvigil.records import Article, Event, utcnow
from newsvigil.runtime.components import Components
from newsvigil.runtime.poller import PollReport, intervals, poll_cycle
from newsvigil.runtime.storing import StoringProcess
from newsvigil.settings import Settings
from newsvigil.storage.database import in_memory
from newsvigil.storage.repositories import ensure_feeds, next_due, user_feeds

log = logging.getLogger("newsvigil.monitor")

OnCycle = Callable[[int, list[PollReport], float], None]


class Monitor:
    """Polls the configured feeds (and those added by users) and publishes what they deliver."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        feeds: list[FeedSource],
        publisher: ArticlePublisher,
        full_text: Callable[[Article], bool] | None = None,
        dispatcher: Dispatcher | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.feeds = feeds
        self.publisher = publisher
        self.full_text = full_text
        self.dispatcher = dispatcher  # embedded mode: delivery runs beside polling
        self.backoff = HostBackoff(settings.host_backoff_after, intervals(settings))
        # The database (feed states, stories) is what a cycle needs besides the feeds themselves.
        self.outage = Outage("database", log, max_wait=10.0)

    def start(self) -> Monitor:
        """Record the configured feeds and start delivery (embedded mode)."""
        with self.sessions.begin() as session:
            ensure_feeds(session, [(f.url, f.title, f.language) for f in self.feeds])
        if self.dispatcher:
            self.dispatcher.start(self.settings.delivery_interval)
        return self

    def all_feeds(self) -> list[FeedSource]:
        """The configured list plus the feeds added with `newsvigil feeds add|import` (read each cycle)."""
        with self.sessions() as session:
            added = [FeedSource(u, t, lang) for u, t, lang in user_feeds(session)]
        listed = {f.url for f in self.feeds}
        return self.feeds + [f for f in added if f.url not in listed]

    async def cycle(self, due_only: bool = False) -> list[PollReport]:
        """Poll every feed once (with `due_only`, those whose next poll time has come)."""
        async with client_for(self.settings) as client:
            return await poll_cycle(
                client,
                self.all_feeds(),
                self.sessions,
                self.publisher,
                self.settings,
                due_only=due_only,
                backoff=self.backoff,
                full_text=self.full_text,
            )

    def idle_seconds(self) -> float:
        """How long to wait before the next feed is due (at least 1 s; at most the shortest interval,
        so that feeds added meanwhile are picked up)."""
        with self.sessions() as session:
            due = next_due(session, [f.url for f in self.all_feeds()])
        wait = (due - utcnow()).total_seconds() if due else 0.0
        return min(max(wait, 1.0), self.settings.poll_min_interval)

    async def run(self, once: bool, on_cycle: OnCycle, settle: Callable[[], Awaitable[None]] | None = None) -> None:
        """Poll forever, each feed when it is due (or every feed once), reporting each cycle that
        polled something; cancellation stops between transactions. With `once`, `settle` is awaited
        before the report (Kafka mode: until the workers processed what was published)."""
        number = 0
        while True:
            started = time.monotonic()
            try:
                reports = await self.cycle(due_only=not once)
                if once and settle:
                    await settle()
                if reports or once:
                    number += 1
                    on_cycle(number, reports, time.monotonic() - started)
                if once:
                    return
                wait = await asyncio.to_thread(self.idle_seconds)
                self.outage.ok()
            except Exception as exc:  # nothing one cycle meets may end an always-on monitor: told once, waited out
                if once:
                    raise
                wait = self.outage.failed(exc)
            await asyncio.sleep(wait)

    def close(self) -> None:
        self.publisher.close()
        if self.dispatcher:
            self.dispatcher.close()


def embedded_monitor(components: Components, on_event: Callable[[Event], None] | None = None) -> Monitor:
    """The embedded mode: an in-process bus hands batches of articles to the pipeline on a thread of
    its own (detection, storage and stories overlap with fetching and parsing); delivery runs beside it."""
    dispatcher = components.dispatcher()
    return _monitor(components, embedded_publisher(components, on_event, dispatcher.notify), dispatcher)


def embedded_publisher(
    components: Components,
    on_event: Callable[[Event], None] | None = None,
    after_commit: Callable[[], None] | None = None,
) -> QueuedPublisher:
    """The embedded mode's bus: articles published go to the pipeline, in batches, from the
    publisher's thread. The pipeline (detection, storage, stories) runs in a storing process, so that
    it and fetching and parsing use two cores; an in-memory SQLite database cannot be shared with
    another process, so there it runs on the publisher's thread."""
    bus = MemoryBus()
    if in_memory(components.settings.database_url):
        bus.subscribe(ARTICLES, components.processor(on_event, after_commit=after_commit).handle)
        return QueuedPublisher(bus)
    storing = StoringProcess(components.settings, components.rules.version).start()

    def handle(articles: Sequence[Article]) -> None:
        result = storing.handle(articles)
        log_failed(result)
        notify(result, on_event, after_commit)

    bus.subscribe(ARTICLES, handle)
    return QueuedPublisher(bus, on_close=storing.close)


def publishing_monitor(components: Components, publisher: ArticlePublisher) -> Monitor:
    """Kafka mode: articles go to `publisher`; the workers detect, store and deliver."""
    return _monitor(components, publisher, None)


def _monitor(components: Components, publisher: ArticlePublisher, dispatcher: Dispatcher | None) -> Monitor:
    settings = components.settings
    return Monitor(
        settings,
        components.sessions,
        load_feed_list(settings.feeds),
        publisher,
        wants_full_text(components.rules, components.languages),
        dispatcher,
    )
