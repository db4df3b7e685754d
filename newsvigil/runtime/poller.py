"""One polling cycle: fetch the feeds that are due, parse, drop items already seen, publish, save
feed state and when to poll each feed next.

A feed's state (its seen items, its validators) advances only after the bus acknowledged its
articles, so a bus outage delays articles and never drops them. Feeds of one host are fetched
`fetch_per_host` at a time, and a host that keeps refusing (429/503) is left alone for a while.

Feeds are fetched host by host: each of the `fetch_concurrency` lanes keeps to one host until its
feeds are done, so that a connection is reused for the next feed of its host instead of being
closed as idle while the lanes go round every other host. With a queued publisher (the embedded
mode) a lane hands a feed's new articles over and goes on fetching: storing them (detection,
storage, stories, on the publisher's own thread) overlaps with fetching and parsing, and the feed's
state is saved once they are acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from newsvigil.ingest.feeds import FeedSource
from newsvigil.ingest.fetch import FetchResult, fetch_feed
from newsvigil.ingest.fulltext import add_full_text
from newsvigil.ingest.parse import parse_feed
from newsvigil.ingest.publish import ArticlePublisher, QueuedPublisher
from newsvigil.ingest.schedule import HostBackoff, Intervals, next_delay
from newsvigil.outage import first_line
from newsvigil.records import Article, utc_iso, utcnow
from newsvigil.settings import Settings
from newsvigil.storage.models import Feed
from newsvigil.storage.repositories import (
    FetchOutcome,
    feed_states,
    is_due,
    mark_seen_items,
    record_fetches,
    seen_item_ids,
)

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
    """What one poll leaves to save: the report, the outcome, when to poll again and the items the
    bus acknowledged (marked seen with the outcome)."""

    report: PollReport
    outcome: FetchOutcome
    when: datetime
    delay: float
    seen: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Handed:
    """A feed fetched and parsed, its new articles handed to the publisher: `ack` is the bus's answer."""

    source: FeedSource
    state: Feed | None
    result: FetchResult
    report: PollReport
    ttl: float | None = None
    fresh: list[Article] = field(default_factory=list)
    ack: asyncio.Future[Any] | None = None


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
    caller saves the poll (`save_polls`: the items acknowledged as seen, the outcome)."""
    handed = await _fetch_and_hand_over(client, source, state, sessions, publisher, settings, backoff, full_text)
    return await _acknowledged(handed, settings)


async def _fetch_and_hand_over(
    client: httpx.AsyncClient,
    source: FeedSource,
    state: Feed | None,
    sessions: sessionmaker[Session],
    publisher: ArticlePublisher,
    settings: Settings,
    backoff: HostBackoff | None,
    full_text: Callable[[Article], bool] | None,
) -> _Handed:
    """The part of a poll that holds a fetch slot: fetch, parse, drop seen items, full text, and hand
    the new items to the publisher."""
    etag, last_modified = (state.etag, state.last_modified) if state else (None, None)
    result = await fetch_feed(
        client,
        source.url,
        etag=etag,
        last_modified=last_modified,
        max_bytes=settings.max_body_bytes,
        deadline=settings.fetch_timeout,
    )
    if backoff:
        backoff.record(_host(source.url), result.status, result.headers, utcnow())
    handed = _Handed(source, state, result, PollReport(source.url, result.status))
    if result.error:
        handed.report.error = result.error
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
        handed.ttl = parsed.ttl_minutes
        if parsed.error:
            handed.report.error = parsed.error
        else:
            handed.report.items = len(parsed.articles)
            with sessions() as session:
                seen = seen_item_ids(session, source.url, [a.id for a in parsed.articles])
            fresh = list({a.id: a for a in parsed.articles if a.id not in seen}.values())
            if full_text and fresh:
                fresh = await add_full_text(
                    client, fresh, full_text, max_bytes=settings.max_body_bytes, deadline=settings.fetch_timeout
                )
            handed.fresh = fresh
            handed.ack = await _hand_over(publisher, fresh)
    return handed


async def _hand_over(publisher: ArticlePublisher, articles: list[Article]) -> asyncio.Future[Any]:
    """Give articles to the publisher; the future is its acknowledgement. A queued publisher takes
    them at once (once it has room) and acknowledges them later, when they are stored; the others
    publish here (Kafka's acks in a thread, so a broker outage never freezes the loop)."""
    loop = asyncio.get_running_loop()
    try:
        if isinstance(publisher, QueuedPublisher):
            if articles:
                return asyncio.wrap_future(await publisher.enqueue(articles))
        elif publisher.blocking:
            await asyncio.to_thread(publisher.publish, articles)
        else:
            publisher.publish(articles)
    except Exception as exc:  # the bus refused
        failed = loop.create_future()
        failed.set_exception(exc)
        return failed
    done = loop.create_future()
    done.set_result(None)
    return done


async def _acknowledged(handed: _Handed, settings: Settings) -> FeedPoll:
    """The rest of a poll, once the bus answered: what to save and when to poll again."""
    result, report = handed.result, handed.report
    outcome = FetchOutcome(result.status, None, result.etag, result.last_modified)
    seen: list[str] = []
    retry_soon = False  # the bus, not the feed, failed
    if handed.ack is not None:
        try:
            await handed.ack
        except Exception as exc:  # the bus refused: keep the validators as they were, retry soon
            # The feed is fine: this is no failure of its own (its health is not touched).
            report.deferred = f"publishing failed, will retry: {exc}"
            outcome = FetchOutcome(result.status)
            retry_soon = True
        else:
            report.new = len(handed.fresh)
            seen = [a.id for a in handed.fresh]
    now = utcnow()
    state = handed.state
    errors_before = (state.consecutive_errors or 0) if state else 0
    outcome.error = report.error
    delay = (
        intervals(settings).minimum
        if retry_soon
        else next_delay(
            intervals(settings),
            errors=errors_before + 1 if report.error else 0,
            status=result.status,
            headers=result.headers,
            ttl_minutes=handed.ttl,
            now=now,
        )
    )
    if report.error:
        log.warning("%s: %s", handed.source.url, report.error)
    return FeedPoll(report, outcome, now, delay, seen)


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


def save_polls(sessions: sessionmaker[Session], polls: list[FeedPoll]) -> None:
    """Save polls in one transaction: the items acknowledged as seen, then each feed's outcome."""
    with sessions.begin() as session:
        mark_seen_items(session, [(p.report.url, item) for p in polls for item in p.seen])
        record_fetches(session, [(p.report.url, p.outcome, p.when, p.delay) for p in polls])


async def _write(publisher: ArticlePublisher, work: Callable[[], None]) -> None:
    """The poller's own writes: on a queued publisher's thread (where the pipeline writes: SQLite
    takes one writer at a time), in a thread beside a blocking publisher (Kafka mode: the loop goes
    on fetching meanwhile), else here."""
    if isinstance(publisher, QueuedPublisher):
        await publisher.write(work)
    elif publisher.blocking:
        await asyncio.to_thread(work)
    else:
        work()


class _HostOrder:
    """Which feed a lane polls next: the next of its host's while it has some, else the first feed
    of the first host that has fewer than `per_host` lanes. Hosts with the most feeds come first
    (then in the order of the list): a host's feeds take `per_host` lanes at most, and a big host
    left for last would keep the cycle going on a few lanes."""

    def __init__(self, feeds: list[FeedSource], per_host: int) -> None:
        by_host: dict[str, deque[int]] = {}
        for index, feed in enumerate(feeds):
            by_host.setdefault(_host(feed.url), deque()).append(index)
        # host -> indexes of its feeds not yet taken (sorted is stable: ties keep the list's order)
        self.waiting = dict(sorted(by_host.items(), key=lambda item: -len(item[1])))
        self.lanes: dict[str, int] = dict.fromkeys(self.waiting, 0)
        self.per_host = per_host

    def next(self, host: str | None) -> tuple[str, int] | None:
        """The next (host, feed index) for a lane that polled `host` last (None: it starts)."""
        if host is not None:
            if host in self.waiting:
                return host, self._take(host)
            self.lanes[host] -= 1
        # Hosts already at their limit are at most the lanes' count: this stays short.
        for candidate in self.waiting:
            if self.lanes[candidate] < self.per_host:
                self.lanes[candidate] += 1
                return candidate, self._take(candidate)
        return None

    def _take(self, host: str) -> int:
        queue = self.waiting[host]
        index = queue.popleft()
        if not queue:
            del self.waiting[host]
        return index


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
    time and `fetch_per_host` per host, host by host; one feed's failure never stops the others.
    Feed states are read once and saved every `SAVE_EVERY` acknowledged polls (and at the end);
    when this returns, every article handed over was acknowledged or refused, and every poll saved.
    Reports come in the order of `feeds`."""
    now = now or utcnow()
    with sessions() as session:
        states = feed_states(session, [f.url for f in feeds])
        session.expunge_all()  # plain snapshots: read outside the session
    if due_only:
        feeds = [f for f in feeds if is_due(states.get(f.url), now)]
    reports: list[PollReport | None] = [None] * len(feeds)
    order = _HostOrder(feeds, settings.fetch_per_host)
    unsaved: list[FeedPoll] = []
    saving = asyncio.Lock()  # one save at a time, in order
    finishing: set[asyncio.Task[None]] = set()  # polls waiting for their acknowledgement
    saves: set[asyncio.Task[None]] = set()

    def start(work: Coroutine[Any, Any, None], tasks: set[asyncio.Task[None]]) -> None:
        task = asyncio.create_task(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def save(polls: list[FeedPoll]) -> None:
        if polls:
            async with saving:
                await _write(publisher, lambda: save_polls(sessions, polls))

    def taken() -> list[FeedPoll]:
        polls, unsaved[:] = list(unsaved), []
        return polls

    def done(index: int, poll: FeedPoll) -> None:
        reports[index] = poll.report
        unsaved.append(poll)
        if len(unsaved) >= SAVE_EVERY:  # saved beside: no lane waits for it
            start(save(taken()), saves)

    async def finish(index: int, handed: _Handed) -> None:
        try:
            poll = await _acknowledged(handed, settings)
        except (OperationalError, InterfaceError) as exc:
            log.error("%s: not recorded, the database is unreachable: %s", handed.source.url, _first_line(exc))
            poll = unexpected_failure(handed.source, handed.state, settings, _unexpected(exc))
        except Exception as exc:  # a bug must not end the cycle
            log.exception("%s: unexpected error", handed.source.url)
            poll = unexpected_failure(handed.source, handed.state, settings, _unexpected(exc))
        done(index, poll)

    async def lane() -> None:
        host: str | None = None
        while (taken := order.next(host)) is not None:
            host, index = taken
            source = feeds[index]
            blocked = backoff.blocked(host, utcnow()) if backoff else None
            if blocked:
                reports[index] = PollReport(
                    source.url, deferred=f"host {host} refused repeatedly; waiting until {utc_iso(blocked)}"
                )
                continue
            state = states.get(source.url)
            try:
                handed = await _fetch_and_hand_over(
                    client, source, state, sessions, publisher, settings, backoff, full_text
                )
            except (OperationalError, InterfaceError) as exc:  # the database is down: one line, no traceback
                log.error("%s: not polled, the database is unreachable: %s", source.url, _first_line(exc))
                done(index, unexpected_failure(source, state, settings, _unexpected(exc)))
                continue
            except Exception as exc:  # a bug must not end the cycle
                log.exception("%s: unexpected error", source.url)
                done(index, unexpected_failure(source, state, settings, _unexpected(exc)))
                continue
            if handed.ack is None or handed.ack.done():
                await finish(index, handed)
            else:  # stored later: the lane goes on meanwhile
                start(finish(index, handed), finishing)

    lanes = [asyncio.create_task(lane()) for _ in range(min(settings.fetch_concurrency, len(feeds)))]
    try:
        await asyncio.gather(*lanes)
        while finishing or saves:
            await asyncio.gather(*finishing, *saves)
    except BaseException:  # stopped (cancelled) or a save failed: what was acknowledged is still saved
        for task in [*lanes, *finishing]:
            task.cancel()
        await asyncio.gather(*lanes, *finishing, *saves, return_exceptions=True)
        raise
    finally:
        await save(taken())
    return [r for r in reports if r is not None]


def _unexpected(exc: Exception) -> str:
    return f"unexpected error: {exc.__class__.__name__}: {_first_line(exc)}"


def _first_line(exc: Exception) -> str:
    """The driver's error (a database error wraps it) in one line."""
    return first_line(getattr(exc, "orig", None) or exc)
