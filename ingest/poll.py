"""One polling cycle: fetch every feed, parse, drop items already seen, publish, save feed state.

A feed's state (validators, seen items) advances only after the bus acknowledged its articles,
so a bus outage delays articles and never drops them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session, sessionmaker

from ingest.feeds import FeedSource
from ingest.fetch import fetch_feed
from ingest.parse import parse_feed
from ingest.publish import ArticlePublisher
from newsvigil.settings import Settings
from storage.repositories import FetchOutcome, feed_state, mark_seen, record_fetch, seen_item_ids

log = logging.getLogger("newsvigil.poll")


@dataclass(slots=True)
class PollReport:
    url: str
    status: int | None = None
    items: int = 0
    new: int = 0
    error: str | None = None


async def poll_feed(client: httpx.AsyncClient, source: FeedSource, sessions: sessionmaker[Session],
                    publisher: ArticlePublisher, settings: Settings) -> PollReport:
    """Poll one feed end to end; problems come back in the report, never as exceptions."""
    with sessions() as session:
        state = feed_state(session, source.url)
        etag, last_modified = (state.etag, state.last_modified) if state else (None, None)
    result = await fetch_feed(
        client, source.url, etag=etag, last_modified=last_modified, max_bytes=settings.max_body_bytes,
        deadline=settings.fetch_timeout, allow_private=settings.allow_private_networks,
    )
    report = PollReport(source.url, result.status)
    if result.error:
        report.error = result.error
    elif result.status == 200:
        parsed = parse_feed(result.content, source.url, source=source.title, language=source.language,
                            content_type=result.content_type)
        if parsed.error:
            report.error = parsed.error
        else:
            report.items = len(parsed.articles)
            with sessions() as session:
                seen = seen_item_ids(session, source.url, [a.id for a in parsed.articles])
            fresh = list({a.id: a for a in parsed.articles if a.id not in seen}.values())
            try:
                publisher.publish(fresh)
            except Exception as exc:  # the bus refused: keep state as it was, retry next cycle
                report.error = f"publishing failed, will retry: {exc}"
                log.warning("%s: %s", source.url, report.error)
                _record(sessions, source.url, FetchOutcome(result.status, report.error), settings)
                return report
            report.new = len(fresh)
            with sessions.begin() as session:
                mark_seen(session, source.url, [a.id for a in fresh])
    _record(sessions, source.url, FetchOutcome(result.status, report.error, result.etag, result.last_modified), settings)
    if report.error:
        log.warning("%s: %s", source.url, report.error)
    return report


def _record(sessions: sessionmaker[Session], url: str, outcome: FetchOutcome, settings: Settings) -> None:
    with sessions.begin() as session:
        record_fetch(session, url, outcome, interval=settings.poll_interval)


async def poll_cycle(client: httpx.AsyncClient, feeds: list[FeedSource], sessions: sessionmaker[Session],
                     publisher: ArticlePublisher, settings: Settings) -> list[PollReport]:
    """Poll all feeds, `fetch_concurrency` at a time; one feed's failure never stops the others."""
    limit = asyncio.Semaphore(settings.fetch_concurrency)

    async def one(source: FeedSource) -> PollReport:
        async with limit:
            try:
                return await poll_feed(client, source, sessions, publisher, settings)
            except Exception as exc:  # a bug or a database problem must not end the cycle
                log.exception("%s: unexpected error", source.url)
                return PollReport(source.url, error=f"unexpected error: {exc.__class__.__name__}: {exc}")

    return list(await asyncio.gather(*(one(f) for f in feeds)))
