"""One polling cycle: fetch the feeds that are due, parse, drop items already seen, publish, save
feed state and when to poll each feed next.

A feed's state advances only after the bus acknowledged its articles, so a bus outage delays
articles and never drops them. Feeds of one host are fetched `fetch_per_host` at a time, and a host
that keeps refusing (429/503) is left alone for a while.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session, sessionmaker

from newsvigil.ingest.feeds import FeedSource
from newsvigil.ingest.fetch import fetch_feed
from newsvigil.ingest.fulltext import add_full_text
from newsvigil.ingest.parse import parse_feed
from newsvigil.ingest.publish import ArticlePublisher
from newsvigil.ingest.schedule import HostBackoff, Intervals, next_delay
from newsvigil.records import Article, utc_iso, utcnow
from newsvigil.settings import Settings
from newsvigil.storage.models import Feed
from newsvigil.storage.repositories import FetchOutcome, feed_states, is_due, mark_seen, record_fetches, seen_item_ids

log = logging.getLogger("newsvigil.poll")
SAVE_EVERY = 50  # polls saved per transaction: health stays current, and 304s stay cheap


@dataclass(slots=True)
class PollReport:
    url: str
    status: int | None = None
    items: int = 0
    new: int = 0
    error: str | None = None
    deferred: str | None = None  # not polled, or not published, this time, and why (host backing off, bus down)


def intervals(settings: Settings) -> Intervals:
    """The configured intervals; an explicit poll interval outside [min, max] widens the range."""
    base = settings.poll_interval
    return Intervals(base, min(settings.poll_min_interval, base), max(settings.poll_max_interval, base))


@dataclass(slots=True)
class FeedPoll:
    """What one poll leaves to save: the report, the outcome and when to poll again."""

    report: PollReport
    outcome: FetchOutcome
    when: datetime
    delay: float


async def poll_feed(
    client: httpx.AsyncClient,
    source: FeedSource,
    state: Feed | None,
    sessions: sessionmaker[Session],
    publisher: ArticlePublisher,
    settings: Settings,
    backoff: HostBackoff | None = None,
    full_text: Callable[[Article], bool] | None = None,
) -> FeedPoll:
    """Poll one feed end to end (`state`: its saved state, if any); new items that `full_text`
    wants get their page's main text. Problems come back in the report, never as exceptions; the
    caller saves the outcome (`record_fetches`)."""
    etag, last_modified = (state.etag, state.last_modified) if state else (None, None)
    errors_before = (state.consecutive_errors or 0) if state else 0
    result = await fetch_feed(
        client,
        source.url,
        etag=etag,
        last_modified=last_modified,
        max_bytes=settings.max_body_bytes,
        deadline=settings.fetch_timeout,
    )
    report = PollReport(source.url, result.status)
    outcome = FetchOutcome(result.status, None, result.etag, result.last_modified)
    ttl = None
    retry_soon = False  # the bus, not the feed, failed
    if result.error:
        report.error = result.error
    elif result.status == 200:
        # Parsing is CPU work: in a thread, so that one big feed never stalls the event loop and the
        # other feeds' fetches (and their timeouts) go on meanwhile.
        parsed = await asyncio.to_thread(
            parse_feed,
            result.content,
            source.url,
            source=source.title,
            language=source.language,
            content_type=result.content_type,
        )
        ttl = parsed.ttl_minutes
        if parsed.error:
            report.error = parsed.error
        else:
            report.items = len(parsed.articles)
            with sessions() as session:
                seen = seen_item_ids(session, source.url, [a.id for a in parsed.articles])
            fresh = list({a.id: a for a in parsed.articles if a.id not in seen}.values())
            if full_text and fresh:
                fresh = await add_full_text(
                    client, fresh, full_text, max_bytes=settings.max_body_bytes, deadline=settings.fetch_timeout
                )
            try:
                if publisher.blocking:
                    await asyncio.to_thread(publisher.publish, fresh)
                else:
                    publisher.publish(fresh)
            except Exception as exc:  # the bus refused: keep the validators as they were, retry soon
                # The feed is fine: this is no failure of its own (its health is not touched).
                report.deferred = f"publishing failed, will retry: {exc}"
                outcome = FetchOutcome(result.status)
                retry_soon = True
            else:
                report.new = len(fresh)
                with sessions.begin() as session:
                    mark_seen(session, source.url, [a.id for a in fresh])
    now = utcnow()
    if backoff:
        backoff.record(_host(source.url), result.status, result.headers, now)
    outcome.error = report.error
    delay = (
        intervals(settings).minimum
        if retry_soon
        else next_delay(
            intervals(settings),
            errors=errors_before + 1 if report.error else 0,
            status=result.status,
            headers=result.headers,
            ttl_minutes=ttl,
            now=now,
        )
    )
    if report.error:
        log.warning("%s: %s", source.url, report.error)
    return FeedPoll(report, outcome, now, delay)


def unexpected_failure(source: FeedSource, state: Feed | None, settings: Settings, error: str) -> FeedPoll:
    """A poll that raised: recorded on the feed like any failure (its validators kept) and backed off,
    so that one broken feed is neither retried every second nor silently forgotten."""
    errors = ((state.consecutive_errors or 0) if state else 0) + 1
    now = utcnow()
    outcome = FetchOutcome(None, error, state.etag if state else None, state.last_modified if state else None)
    delay = next_delay(intervals(settings), errors=errors, status=None, headers={}, ttl_minutes=None, now=now)
    return FeedPoll(PollReport(source.url, error=error), outcome, now, delay)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


async def poll_cycle(
    client: httpx.AsyncClient,
    feeds: list[FeedSource],
    sessions: sessionmaker[Session],
    publisher: ArticlePublisher,
    settings: Settings,
    *,
    due_only: bool = False,
    backoff: HostBackoff | None = None,
    now: datetime | None = None,
    full_text: Callable[[Article], bool] | None = None,
) -> list[PollReport]:
    """Poll the feeds (with `due_only`, those whose next poll time has come), `fetch_concurrency` at a
    time and `fetch_per_host` per host; one feed's failure never stops the others. Feed states are
    read once and saved every `SAVE_EVERY` polls (and at the end)."""
    now = now or utcnow()
    with sessions() as session:
        states = feed_states(session, [f.url for f in feeds])
        session.expunge_all()  # plain snapshots: read outside the session
    if due_only:
        feeds = [f for f in feeds if is_due(states.get(f.url), now)]
    limit = asyncio.Semaphore(settings.fetch_concurrency)
    per_host: dict[str, asyncio.Semaphore] = {}
    unsaved: list[FeedPoll] = []

    def save() -> None:
        polls, unsaved[:] = list(unsaved), []
        if polls:
            with sessions.begin() as session:
                record_fetches(session, [(p.report.url, p.outcome, p.when, p.delay) for p in polls])

    async def one(source: FeedSource) -> PollReport:
        host = _host(source.url)
        async with per_host.setdefault(host, asyncio.Semaphore(settings.fetch_per_host)), limit:
            blocked = backoff.blocked(host, utcnow()) if backoff else None
            if blocked:
                return PollReport(
                    source.url, deferred=f"host {host} refused repeatedly; waiting until {utc_iso(blocked)}"
                )
            state = states.get(source.url)
            try:
                poll = await poll_feed(client, source, state, sessions, publisher, settings, backoff, full_text)
            except Exception as exc:  # a bug or a database problem must not end the cycle
                log.exception("%s: unexpected error", source.url)
                poll = unexpected_failure(source, state, settings, f"unexpected error: {exc.__class__.__name__}: {exc}")
            unsaved.append(poll)
            if len(unsaved) >= SAVE_EVERY:
                save()
            return poll.report

    try:
        return list(await asyncio.gather(*(one(f) for f in feeds)))
    finally:
        save()
