"""Polling feeds into a bus; in the embedded mode, the bus is in-process and feeds the pipeline directly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from newsvigil.bus import ARTICLES, MemoryBus
from newsvigil.ingest.feeds import FeedSource, load_feed_list
from newsvigil.ingest.fetch import client_for
from newsvigil.ingest.publish import ArticlePublisher, MemoryPublisher
from newsvigil.ingest.schedule import HostBackoff
from newsvigil.outage import Outage
from newsvigil.processors.delivery import Dispatcher
from newsvigil.processors.detect import wants_full_text
from newsvigil.processors.pipeline import ArticleProcessor
from newsvigil.processors.rules import load_rules
from newsvigil.records import Event, utcnow
from newsvigil.runtime.poller import PollReport, intervals, poll_cycle
from newsvigil.settings import Settings
from newsvigil.storage.database import make_engine, session_factory
from newsvigil.storage.migrate import upgrade
from newsvigil.storage.repositories import ensure_feeds, next_due, user_feeds

log = logging.getLogger("newsvigil.monitor")


class Monitor:
    """Polls the configured feeds and publishes what they deliver (embedded: straight into the pipeline)."""

    def __init__(
        self,
        settings: Settings,
        on_event: Callable[[Event], None] | None = None,
        publisher: ArticlePublisher | None = None,
    ) -> None:
        self.settings = settings
        self.feeds: list[FeedSource] = load_feed_list(settings.feeds)
        self.rules = load_rules(settings.topics)
        upgrade(settings.database_url)
        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.dispatcher: Dispatcher | None = None
        self.backoff = HostBackoff(settings.host_backoff_after, intervals(settings))
        self.full_text = wants_full_text(self.rules, tuple(settings.language_list))
        if publisher is None:  # embedded mode: the in-process bus hands batches to the pipeline
            self.dispatcher = Dispatcher(self.sessions, settings).start()
            processor = ArticleProcessor(
                self.rules,
                self.sessions,
                on_event,
                tuple(settings.language_list),
                timedelta(hours=settings.story_window_hours),
                after_commit=self.dispatcher.notify,
            )
            bus = MemoryBus()
            bus.subscribe(ARTICLES, processor.handle)
            publisher = MemoryPublisher(bus)
        self.publisher = publisher
        # The database (feed states, stories) is what a cycle needs besides the feeds themselves.
        self.outage = Outage("database", log, max_wait=10.0)
        with self.sessions.begin() as session:
            ensure_feeds(session, [(f.url, f.title, f.language) for f in self.feeds])

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

    async def run(self, once: bool, on_cycle: Callable[[int, list[PollReport], float], None]) -> None:
        """Poll forever, each feed when it is due (or every feed once), reporting each cycle that
        polled something; cancellation stops between transactions."""
        number = 0
        while True:
            started = time.monotonic()
            try:
                reports = await self.cycle(due_only=not once)
                if reports or once:
                    number += 1
                    on_cycle(number, reports, time.monotonic() - started)
                if once:
                    return
                wait = self.idle_seconds()
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
        self.engine.dispose()
