"""Spike persistence: reports per topic, language and hour (one grouped query), recorded spikes.

Storage only loads and saves; what is a spike is decided in newsvigil.processors.spikes.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, func, literal, or_, select, tuple_, union_all
from sqlalchemy.orm import Session

from newsvigil.batching import batched
from newsvigil.records import hour_of, parse_time, utc_iso, utcnow
from newsvigil.storage.models import ArticleTopic, SpikeRow
from newsvigil.storage.queries import decode_cursor, encode_cursor
from newsvigil.storage.repositories import upsert


def hourly_counts(
    session: Session, topics: Iterable[str], since_hour: int, until_hour: int
) -> list[tuple[str, str, int, int, int]]:
    """(topic, language, hour, reports, newest hour) of these topics from `since_hour` on: one row per
    hour up to `until_hour` (a range of the (topic, hour, language) index, grouped by the database),
    and where a topic has reports after it, rows of hour until_hour + 1 with no count (0) and the
    newest hour after it: one for the topic (language "") and one for each language counted.

    The newest hours are index seeks from the end of each topic's range, not a count of all later
    reports: replaying an old archive into a database with newer reports must not read them all."""
    wanted = sorted(set(topics))
    if not wanted:
        return []
    counted = session.execute(
        select(ArticleTopic.topic, ArticleTopic.language, ArticleTopic.hour, func.count())
        .where(ArticleTopic.topic.in_(wanted), ArticleTopic.hour >= since_hour, ArticleTopic.hour <= until_hour)
        .group_by(ArticleTopic.topic, ArticleTopic.language, ArticleTopic.hour)
    )
    rows = []
    for topic, language, hour, n in counted:
        at = typing.cast(int, hour)  # the range leaves out the rows without an hour
        rows.append((topic, language or "", at, int(n), at))
    keys = [(topic, "") for topic in wanted] + sorted({(topic, language) for topic, language, *_ in rows if language})
    return rows + [
        (topic, language, until_hour + 1, 0, newest)
        for topic, language, newest in _newest_after(session, keys, until_hour)
    ]


# Keys per statement: each is one SELECT of a UNION ALL, under SQLite's limit of 500 compound terms.
_KEYS = 100


def _newest_after(session: Session, keys: Sequence[tuple[str, str]], hour: int) -> list[tuple[str, str, int]]:
    """(topic, language, newest hour) of each key (language "" = any) with reports after `hour`."""
    found: list[tuple[str, str, int]] = []
    for first in range(0, len(keys), _KEYS):
        newest = []
        for topic, language in keys[first : first + _KEYS]:
            query = select(ArticleTopic.hour).where(ArticleTopic.topic == topic, ArticleTopic.hour > hour)
            if language:
                query = query.where(ArticleTopic.language == language)
            latest = query.order_by(ArticleTopic.hour.desc()).limit(1).scalar_subquery()
            newest.append(select(literal(topic, String).label("topic"), literal(language, String), latest))
        found += [(t, lang, int(h)) for t, lang, h in session.execute(union_all(*newest)) if h is not None]
    return found


def first_report_hour(session: Session) -> int | None:
    """The hour of the earliest report on any topic (a scan: read once per process)."""
    first = session.scalar(select(func.min(ArticleTopic.hour)))
    return int(first) if first is not None else None


def spike_hours(
    session: Session, topics: Iterable[str], since: datetime, until: datetime
) -> list[tuple[str, str, int]]:
    """(topic, language, hour) of the spikes recorded for these topics with windows starting in [since, until]."""
    wanted = sorted(set(topics))
    if not wanted:
        return []
    rows = session.execute(
        select(SpikeRow.topic, SpikeRow.language, SpikeRow.window_start).where(
            SpikeRow.topic.in_(wanted), SpikeRow.window_start >= since, SpikeRow.window_start <= until
        )
    )
    return [(topic, language, hour_of(parse_time(start))) for topic, language, start in rows]


def save_spikes(session: Session, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str, datetime], int]:
    """Record spikes (topic, language, window_start, window_end, count, baseline, sd, p_value,
    article_id), each (topic, language, window) once; the id of each, new or already recorded."""
    if not rows:
        return {}
    now = utcnow()
    upsert(session, SpikeRow, [{**row, "detected_at": now} for row in rows], ["topic", "language", "window_start"])
    keys = [(row["topic"], row["language"], row["window_start"]) for row in rows]
    found: dict[tuple[str, str, datetime], int] = {}
    for chunk in batched(keys):
        for spike_id, topic, language, start in session.execute(
            select(SpikeRow.id, SpikeRow.topic, SpikeRow.language, SpikeRow.window_start).where(
                tuple_(SpikeRow.topic, SpikeRow.language, SpikeRow.window_start).in_(chunk)
            )
        ):
            found[topic, language, parse_time(start)] = spike_id
    return found


def spikes_crossed_by(session: Session, article_ids: Iterable[str]) -> list[SpikeRow]:
    """The recorded spikes whose threshold one of these reports crossed (for alerting about history)."""
    out: list[SpikeRow] = []
    for chunk in batched(sorted(set(article_ids))):
        out += session.scalars(select(SpikeRow).where(SpikeRow.article_id.in_(chunk)).order_by(SpikeRow.id))
    return out


def spike_json(row: SpikeRow) -> dict[str, Any]:
    """A spike as the API shows it."""
    return {
        "id": row.id,
        "topic": row.topic,
        "language": row.language or None,
        "window_start": utc_iso(row.window_start),
        "window_end": utc_iso(row.window_end),
        "count": row.count,
        "baseline": row.baseline,
        "sd": row.sd,
        "p_value": row.p_value,
        "article": row.article_id,
    }


def _listing(topic: str | None, language: str | None, since: datetime | None, until: datetime | None) -> Select[Any]:
    query = select(SpikeRow)
    if topic:
        query = query.where(SpikeRow.topic == topic)
    if language is not None:
        query = query.where(SpikeRow.language == language)
    if since:
        query = query.where(SpikeRow.window_end > since)
    if until:
        query = query.where(SpikeRow.window_start < until)
    return query


def spikes_page(
    session: Session,
    *,
    topic: str | None = None,
    language: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Recorded spikes, latest window first; `language` "" = only topic-wide ones, None = any."""
    query = _listing(topic, language, since, until)
    if cursor:
        when, key = decode_cursor(cursor)
        query = query.where(or_(SpikeRow.window_start < when, and_(SpikeRow.window_start == when, SpikeRow.id < key)))
    rows = list(session.scalars(query.order_by(SpikeRow.window_start.desc(), SpikeRow.id.desc()).limit(limit + 1)))
    kept = rows[:limit]
    next_cursor = encode_cursor(kept[-1].window_start, kept[-1].id) if len(rows) > limit and kept else None
    return [spike_json(r) for r in kept], next_cursor


def spikes_between(
    session: Session, since: datetime, until: datetime, topic: str | None, language: str
) -> list[SpikeRow]:
    """The spikes with windows in [since, until) of `language` ("" = topic-wide ones), oldest first."""
    query = _listing(topic, language, since, until).order_by(SpikeRow.window_start, SpikeRow.id)
    return list(session.scalars(query.limit(500)))
