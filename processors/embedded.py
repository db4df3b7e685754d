"""Polling feeds into a bus; in the embedded mode, the bus is in-process and feeds the pipeline directly."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Callable

from ingest.feeds import FeedSource, load_feed_list
from ingest.fetch import make_client
from ingest.poll import PollReport, poll_cycle
from ingest.publish import ArticlePublisher, MemoryPublisher
from newsvigil.bus import ARTICLES, MemoryBus
from newsvigil.records import Event
from newsvigil.settings import Settings
from processors.delivery import Dispatcher
from processors.pipeline import ArticleProcessor
from processors.rules import load_rules
from storage.database import make_engine, session_factory
from storage.migrate import upgrade
from storage.repositories import ensure_feeds, user_feeds


class Monitor:
    """Polls the configured feeds and publishes what they deliver (embedded: straight into the pipeline)."""

    def __init__(self, settings: Settings, on_event: Callable[[Event], None] | None = None,
                 publisher: ArticlePublisher | None = None) -> None:
        self.settings = settings
        self.feeds: list[FeedSource] = load_feed_list(settings.feeds)
        self.rules = load_rules(settings.topics)
        upgrade(settings.database_url)
        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.dispatcher: Dispatcher | None = None
        if publisher is None:  # embedded mode: the in-process bus hands batches to the pipeline
            self.dispatcher = Dispatcher(self.sessions, settings).start()
            processor = ArticleProcessor(self.rules, self.sessions, on_event, tuple(settings.language_list),
                                         timedelta(hours=settings.story_window_hours),
                                         after_commit=self.dispatcher.notify)
            bus = MemoryBus()
            bus.subscribe(ARTICLES, processor.handle)
            publisher = MemoryPublisher(bus)
        self.publisher = publisher
        with self.sessions.begin() as session:
            ensure_feeds(session, [(f.url, f.title, f.language) for f in self.feeds])

    def all_feeds(self) -> list[FeedSource]:
        """The configured list plus the feeds added with `newsvigil feeds add|import` (read each cycle)."""
        with self.sessions() as session:
            added = [FeedSource(u, t, l) for u, t, l in user_feeds(session)]
        listed = {f.url for f in self.feeds}
        return self.feeds + [f for f in added if f.url not in listed]

    async def cycle(self) -> list[PollReport]:
        """Poll every feed once."""
        async with make_client(self.settings.user_agent, self.settings.fetch_timeout) as client:
            return await poll_cycle(client, self.all_feeds(), self.sessions, self.publisher, self.settings)

    async def run(self, once: bool, on_cycle: Callable[[int, list[PollReport], float], None]) -> None:
        """Poll forever (or once), reporting each cycle; cancellation stops between transactions."""
        number = 0
        while True:
            number += 1
            started = time.monotonic()
            reports = await self.cycle()
            on_cycle(number, reports, time.monotonic() - started)
            if once:
                return
            await asyncio.sleep(max(0.0, self.settings.poll_interval - (time.monotonic() - started)))

    def close(self) -> None:
        self.publisher.close()
        if self.dispatcher:
            self.dispatcher.close()
        self.engine.dispose()
