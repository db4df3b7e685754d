"""Reads and idempotent writes. Every write is keyed, so replays and redeliveries change nothing."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from newsvigil.batching import batched
from newsvigil.records import Article, Detection, Event, hour_of, parse_time, utc_iso, utcnow
from newsvigil.storage.mapping import article_row, mention_of, mention_row, mentions_by_article
from newsvigil.storage.models import (
    AlertRow,
    ArticleRow,
    ArticleTopic,
    Base,
    DeadLetter,
    DetectionRow,
    EventRow,
    Feed,
    SeenItem,
    StoryArticle,
    StoryRow,
    TroopMentionRow,
)


def upsert(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] = (),
    keep: Sequence[str] = (),
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE/NOTHING, on SQLite and PostgreSQL alike.

    Rows go as one executemany (psycopg 3 pipelines it). Measured on PostgreSQL with 500-article
    batches: ~195 us per article; a multi-VALUES statement and RETURNING-driven "insertmanyvalues"
    were both slower.
    """
    if not rows:
        return
    connection = session.connection()
    statement = _upsert_statement(
        connection.dialect.name == "postgresql", model, tuple(keys), tuple(update), tuple(keep)
    )
    driver = _driver_statement(connection.dialect, statement, tuple(rows[0]))
    if driver is None:
        session.execute(statement, list(rows))
    else:
        connection.exec_driver_sql(driver.sql, driver.parameters(rows))


@functools.cache
def _upsert_statement(
    postgres: bool, model: type[Base], keys: tuple[str, ...], update: tuple[str, ...], keep: tuple[str, ...]
) -> Insert:
    """The statement `upsert` runs, built once: building it (and its cache key) on every call cost
    about as much as running it for a few rows."""
    dialect = postgresql if postgres else sqlite
    stmt = dialect.insert(model.__table__)  # Core, not the ORM bulk path: one multi-row INSERT per page
    if update:
        table = model.__table__
        # `keep` columns are updated only with a value: a NULL never replaces what is stored.
        return stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: func.coalesce(stmt.excluded[c], table.c[c]) if c in keep else stmt.excluded[c] for c in update},
        )
    return stmt.on_conflict_do_nothing(index_elements=list(keys))


_NOTHING = object()  # no value converted yet


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled once for a dialect and a row shape: its SQL, and how rows become the
    driver's parameters (the columns in the SQL's order, each through its type's bind processor)."""

    sql: str
    columns: tuple[str, ...]
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position in `columns`, processor)
    positional: bool

    def parameters(self, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """The rows as the driver takes them (tuples for a positional paramstyle, else dicts)."""
        try:
            if not self.positional:
                if not self.processors:
                    return list(rows)
                named = [dict(row) for row in rows]
                for row_dict in named:
                    for i, process in self.processors:
                        row_dict[self.columns[i]] = process(row_dict[self.columns[i]])
                return named
            pick = operator.itemgetter(*self.columns)
            ordered = [pick(row) for row in rows] if len(self.columns) > 1 else [(pick(row),) for row in rows]
            if not self.processors:
                return ordered
            # A batch's rows often share one value (the time it is stored at): converted once.
            last: list[Any] = [_NOTHING] * len(self.processors)
            converted: list[Any] = [None] * len(self.processors)
            out = []
            for row_values in ordered:
                values = list(row_values)
                for k, (i, process) in enumerate(self.processors):
                    value = values[i]
                    if value is not last[k]:
                        last[k], converted[k] = value, process(value)
                    values[i] = converted[k]
                out.append(tuple(values))
            return out
        except (KeyError, TypeError, ValueError) as exc:
            # as SQLAlchemy reports a row it cannot convert: a StatementError, so a batch holding a
            # value the database can never take is stored record by record (pipeline.refused_by_database)
            raise StatementError(str(exc), self.sql, None, exc) from exc


@functools.lru_cache(maxsize=256)
def _driver_statement(dialect: Dialect, statement: Insert, columns: tuple[str, ...]) -> DriverStatement | None:
    """`statement` compiled for rows of these `columns`, run straight on the driver: SQLAlchemy's
    executemany built and converted every row's parameters anew (a fifth of the time of storing a
    batch on SQLite). None when the rows are not plainly the statement's parameters (a column left
    to its default, a renamed parameter): SQLAlchemy then runs it."""
    compiled = statement.compile(dialect=dialect, column_keys=list(columns), for_executemany=True)
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    if compiled.escaped_bind_names or sorted(names) != sorted(columns):
        return None
    processors = tuple(
        (i, process)
        for i, name in enumerate(names)
        if (process := compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    return DriverStatement(compiled.string, tuple(names), processors, compiled.positional)


def rows_changed(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE; how many rows it changed."""
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]  # DML gives a CursorResult
    return result.rowcount


def stored_bodies(session: Session, article_ids: Sequence[str]) -> dict[str, str]:
    """The stored full text of those of `article_ids` that have one."""
    found: dict[str, str] = {}
    for chunk in batched(article_ids):
        rows = session.execute(
            select(ArticleRow.id, ArticleRow.body).where(ArticleRow.id.in_(chunk), ArticleRow.body.is_not(None))
        )
        found.update((article_id, body) for article_id, body in rows if body is not None)
    return found


def save_detections(
    session: Session, results: Sequence[tuple[Article, Detection]], stored: set[str] | None = None
) -> list[Event]:
    """Store articles with what was detected in them; return the events that are new. `stored`: those
    of the articles already stored, when the caller has asked (else asked here); completed here with
    those another writer stored since it was asked.

    Re-running with the same input changes nothing; re-running with new rules replaces the old
    detection of each article.
    """
    if not results:
        return []
    now = utcnow()
    latest: dict[str, tuple[Article, Detection]] = {a.id: (a, d) for a, d in results}
    if stored is None:
        stored = known_article_ids(session, list(latest))
    # A replayed copy of an article polled with its full text has no body: the stored body stays.
    upsert(
        session,
        ArticleRow,
        [article_row(a) for a, _ in latest.values()],
        ["id"],
        ["title", "summary", "link", "published_at", "language", "body"],
        keep=["body"],
    )
    # Another writer may have stored some of the others since `stored` was asked (a redelivered
    # message, a replay beside `run`): the upsert above waited for its transaction, whose detection
    # rows are visible now. Taken for new, such an article would be a second new event.
    for chunk in batched([i for i in latest if i not in stored]):
        stored.update(session.scalars(_DETECTED, {"ids": chunk}))
    # Only an article stored before has an event, topics and mentions to replace (a new one, most of
    # a replay, has none: no statement is spent on it).
    existing_events: set[str] = set()
    for chunk in batched([i for i in latest if i in stored]):
        existing_events.update(session.scalars(_EVENTS_OF, {"ids": chunk}))
        session.execute(_DELETE_TOPICS, {"ids": chunk})
        session.execute(_DELETE_MENTIONS, {"ids": chunk})
    upsert(
        session,
        DetectionRow,
        [
            {
                "article_id": a.id,
                "lang": d.lang,
                "rules_version": d.rules_version,
                "detected_at": now,
                "vague": json.dumps([v.to_json() for v in d.vague], ensure_ascii=False) if d.vague else None,
            }
            for a, d in latest.values()
        ],
        ["article_id"],
        ["lang", "rules_version", "detected_at", "vague"],
    )
    topic_rows = [
        {"article_id": a.id, "topic": t, "language": d.lang or "", "hour": hour_of(a.when)}
        for a, d in latest.values()
        for t in dict.fromkeys(d.topics)
    ]
    upsert(session, ArticleTopic, topic_rows, ["article_id", "topic"])
    mention_rows = [mention_row(a.id, m) for a, d in latest.values() for m in d.troops]
    upsert(session, TroopMentionRow, mention_rows, ["article_id", "start", "end"])
    on_topic = [(a, d) for a, d in latest.values() if d.topics]
    upsert(
        session,
        EventRow,
        [
            {"id": a.id, "topics": ",".join(d.topics), "rules_version": d.rules_version, "created_at": now}
            for a, d in on_topic
        ],
        ["id"],
        ["topics", "rules_version"],
    )
    off_topic = [a.id for a, d in latest.values() if not d.topics and a.id in existing_events]
    for chunk in batched(off_topic):
        session.execute(delete(EventRow).where(EventRow.id.in_(chunk)))
    leave_stories(session, off_topic)
    return [Event(a, d) for a, d in on_topic if a.id not in existing_events]


def leave_stories(session: Session, article_ids: Sequence[str]) -> None:
    """Articles no longer on any topic leave their stories; a story left with no report goes."""
    for chunk in batched(article_ids):
        counts = session.execute(
            select(StoryArticle.story_id, func.count())
            .where(StoryArticle.article_id.in_(chunk))
            .group_by(StoryArticle.story_id)
        ).all()
        if not counts:
            continue
        session.execute(delete(StoryArticle).where(StoryArticle.article_id.in_(chunk)))
        for story_id, count in counts:
            session.execute(
                update(StoryRow).where(StoryRow.id == story_id).values(article_count=StoryRow.article_count - count)
            )
        session.execute(delete(StoryRow).where(StoryRow.id.in_([s for s, _ in counts]), StoryRow.article_count <= 0))


def known_article_ids(session: Session, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are already stored."""
    found: set[str] = set()
    for chunk in batched(ids):
        found.update(session.scalars(_KNOWN, {"ids": chunk}))
    return found


# Statements run for every stored batch, built once (building one, and its cache key, cost about as
# much as running it).
_ARTICLE_ID = ArticleRow.__table__.c.id
_EVENT_ID = EventRow.__table__.c.id
_KNOWN = select(_ARTICLE_ID).where(_ARTICLE_ID.in_(bindparam("ids", expanding=True)))
_EVENTS_OF = select(_EVENT_ID).where(_EVENT_ID.in_(bindparam("ids", expanding=True)))
_DETECTED_ID = DetectionRow.__table__.c.article_id
_DETECTED = select(_DETECTED_ID).where(_DETECTED_ID.in_(bindparam("ids", expanding=True)))
_DELETE_TOPICS = delete(ArticleTopic).where(ArticleTopic.article_id.in_(bindparam("ids", expanding=True)))
_DELETE_MENTIONS = delete(TroopMentionRow).where(TroopMentionRow.article_id.in_(bindparam("ids", expanding=True)))


# Built once: the poller asks this for every feed that changed, and building the statement (and its
# cache key) each time cost as much as running it.
_SEEN = select(SeenItem.article_id).where(
    SeenItem.feed_url == bindparam("feed_url"), SeenItem.article_id.in_(bindparam("ids", expanding=True))
)


def seen_item_ids(session: Session, feed_url: str, ids: Sequence[str]) -> set[str]:
    """Which of a feed's item ids were already published."""
    found: set[str] = set()
    for chunk in batched(ids):
        found.update(session.scalars(_SEEN, {"feed_url": feed_url, "ids": chunk}))
    return found


def mark_seen(session: Session, feed_url: str, ids: Iterable[str]) -> None:
    mark_seen_items(session, [(feed_url, i) for i in ids])


def mark_seen_items(session: Session, items: Iterable[tuple[str, str]]) -> None:
    """Record (feed url, item id) pairs as published, many feeds' in one statement."""
    now = utcnow()
    upsert(
        session,
        SeenItem,
        [{"feed_url": feed_url, "article_id": i, "seen_at": now} for feed_url, i in items],
        ["feed_url", "article_id"],
    )


def ensure_feeds(session: Session, feeds: Iterable[tuple[str, str | None, str | None]]) -> None:
    """Register (url, title, language) feeds; existing ones keep their state."""
    upsert(
        session,
        Feed,
        [{"url": u, "title": t, "language": lang, "consecutive_errors": 0} for u, t, lang in feeds],
        ["url"],
        ["title", "language"],
    )


def feed_state(session: Session, url: str) -> Feed | None:
    return session.scalars(select(Feed).where(Feed.url == url)).first()


@dataclass(slots=True)
class FetchOutcome:
    """What one poll of a feed did to its saved state."""

    status: int | None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def feed_states(session: Session, urls: Sequence[str]) -> dict[str, Feed]:
    """The saved state of each of `urls` that has one (one query per 500 feeds)."""
    found: dict[str, Feed] = {}
    for chunk in batched(dict.fromkeys(urls)):
        found.update((f.url, f) for f in session.scalars(select(Feed).where(Feed.url.in_(chunk))))
    return found


def is_due(feed: Feed | None, now: datetime) -> bool:
    """Never polled, or its next poll time has come."""
    return feed is None or feed.next_poll_at is None or parse_time(feed.next_poll_at) <= now


def next_due(session: Session, urls: Sequence[str]) -> datetime | None:
    """The earliest next poll time among `urls` (None: one of them has never been scheduled)."""
    states = feed_states(session, urls)
    times = [states[u].next_poll_at if u in states else None for u in set(urls)]
    known = [parse_time(t) for t in times if t is not None]
    if not known or len(known) < len(times):
        return None
    return min(known)


def record_fetch(
    session: Session, url: str, outcome: FetchOutcome, when: datetime | None = None, interval: float | None = None
) -> None:
    """Save a poll's result: validators only advance on success, errors are counted."""
    record_fetches(session, [(url, outcome, when or utcnow(), interval)])


def record_fetches(session: Session, polls: Sequence[tuple[str, FetchOutcome, datetime, float | None]]) -> None:
    """Save many polls' results, (url, outcome, when, seconds until the next poll), in one go."""
    feeds = feed_states(session, [url for url, *_ in polls])
    for url, outcome, when, interval in polls:
        feed = feeds.get(url)
        if feed is None:
            feed = feeds[url] = Feed(url=url, consecutive_errors=0)
            session.add(feed)
        feed.last_polled_at = when
        feed.last_status = outcome.status
        if interval:
            feed.next_poll_at = when + timedelta(seconds=interval)
        if outcome.error:
            feed.last_error = outcome.error
            feed.consecutive_errors = (feed.consecutive_errors or 0) + 1
        else:
            feed.last_error = None
            feed.consecutive_errors = 0
            feed.last_success_at = when
            if outcome.status == 200:
                feed.etag = outcome.etag
                feed.last_modified = outcome.last_modified


def stats(session: Session) -> dict[str, int]:
    """Row counts for `newsvigil stats`."""

    def count(model: type[Base]) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    return {
        "feeds": count(Feed),
        "articles": count(ArticleRow),
        "events": count(EventRow),
        "troop_mentions": count(TroopMentionRow),
        "stories": count(StoryRow),
        "alerts": count(AlertRow),
    }


def list_events(
    session: Session, topic: str | None = None, since: datetime | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Stored events, newest first, each with its article and figures."""
    query = select(EventRow, ArticleRow).join(ArticleRow, ArticleRow.id == EventRow.id)
    if topic:
        query = query.join(ArticleTopic, ArticleTopic.article_id == EventRow.id).where(ArticleTopic.topic == topic)
    when = ArticleRow.when
    if since:
        query = query.where(when >= since)
    rows = session.execute(query.order_by(when.desc(), EventRow.id).limit(limit)).all()
    mentions = mentions_by_article(session, [event.id for event, _ in rows])
    return [
        {
            "id": event.id,
            "topics": event.topics.split(","),
            "title": article.title,
            "link": article.link,
            "outlet": article.source,
            "language": article.language,
            "published": utc_iso(article.published_at),
            "rules_version": event.rules_version,
            "figures": [mention_of(m).to_json() for m in mentions.get(event.id, [])],
        }
        for event, article in rows
    ]


def save_dead_letters(session: Session, letters: Sequence[dict[str, Any]]) -> None:
    """Keep undecodable or unprocessable messages (topic, partition, offset, key, value, reason)."""
    now = utcnow()
    upsert(session, DeadLetter, [{**letter, "created_at": now} for letter in letters], ["topic", "partition", "offset"])


def dead_letter_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DeadLetter)) or 0)


def add_user_feeds(session: Session, feeds: Iterable[tuple[str, str | None, str | None]]) -> None:
    """Feeds added with `feeds add|import`: polled beside the configured list."""
    upsert(
        session,
        Feed,
        [
            {"url": u, "title": t, "language": lang, "consecutive_errors": 0, "added_by_user": True}
            for u, t, lang in feeds
        ],
        ["url"],
        ["added_by_user"],
    )


def user_feeds(session: Session) -> list[tuple[str, str | None, str | None]]:
    return [
        (f.url, f.title, f.language)
        for f in session.scalars(select(Feed).where(Feed.added_by_user.is_(True)).order_by(Feed.id))
    ]


def remove_feed(session: Session, url: str) -> bool:
    """Forget a feed and its state; True when it existed."""
    session.execute(delete(SeenItem).where(SeenItem.feed_url == url))
    return rows_changed(session, delete(Feed).where(Feed.url == url)) > 0


def feed_health(session: Session, failing_after: int, days: int = 7) -> list[dict[str, Any]]:
    """Per feed: last status and error, last success, consecutive errors, next poll, items/day, flagged."""
    since = utcnow() - timedelta(days=days)
    per_feed = dict(
        session.execute(
            select(SeenItem.feed_url, func.count()).where(SeenItem.seen_at >= since).group_by(SeenItem.feed_url)
        ).all()
    )
    return [
        {
            "url": f.url,
            "title": f.title,
            "last_status": f.last_status,
            "last_error": f.last_error,
            "last_success": utc_iso(f.last_success_at),
            "last_polled": utc_iso(f.last_polled_at),
            "consecutive_errors": f.consecutive_errors or 0,
            "next_poll": utc_iso(f.next_poll_at),
            "items_per_day": round(per_feed.get(f.url, 0) / days, 1),
            "failing": (f.consecutive_errors or 0) >= failing_after,
            "added_by_user": bool(f.added_by_user),
        }
        for f in session.scalars(select(Feed).order_by(Feed.id))
    ]
