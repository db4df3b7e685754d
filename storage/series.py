"""Figure series persistence: series rows, their points, and the read models of the series pages and API.

Storage only loads and saves; which series a figure joins and whether it changed the series is
decided in newsvigil.processors.series (pure) and newsvigil.processors.series_assignment.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from newsvigil.batching import batched
from newsvigil.records import TroopMention, utc_iso, utcnow
from newsvigil.storage.mapping import figure_of
from newsvigil.storage.models import ArticleRow, ArticleTopic, SeriesPoint, SeriesRow, TroopMentionRow
from newsvigil.storage.repositories import upsert

# (actor, place, unit class, kind): a series' natural key, as stored.
Key = tuple[str, str, str, str]


def ensure_series(session: Session, keys: Mapping[Key, str | None]) -> dict[Key, SeriesRow]:
    """The series row of each key (created with its place name when new)."""
    if not keys:
        return {}
    now = utcnow()
    upsert(
        session,
        SeriesRow,
        [
            {"actor": a, "place": p, "unit_class": u, "kind": k, "place_name": name, "created_at": now}
            for (a, p, u, k), name in sorted(keys.items())
        ],
        ["actor", "place", "unit_class", "kind"],
    )
    found: dict[Key, SeriesRow] = {}
    for chunk in batched(sorted({p for _, p, _, _ in keys})):
        for row in session.scalars(_SERIES_AT, {"places": chunk}):
            key = (row.actor, row.place, row.unit_class, row.kind)
            if key in keys:
                found[key] = row
    return found


# Built once: it runs for every stored batch with figures.
_SERIES_AT = select(SeriesRow).where(SeriesRow.place.in_(bindparam("places", expanding=True)))


def points_of_articles(session: Session, article_ids: Iterable[str]) -> list[SeriesPoint]:
    """The stored points of these articles."""
    found: list[SeriesPoint] = []
    for chunk in batched(sorted(set(article_ids))):
        found += session.scalars(select(SeriesPoint).where(SeriesPoint.article_id.in_(chunk)))
    return found


def insert_points(session: Session, rows: Sequence[dict[str, Any]], links: Sequence[tuple[int, int]]) -> list[int]:
    """Insert points (one statement) and return their ids in order; `links` (row, row it was compared
    with) set previous_id between points of these rows (one more statement). Core statements: the
    ORM's bulk paths cost about twice as much per row here. The ids are matched to the rows by their
    (series, article), unique: asking for them in parameter order instead makes SQLAlchemy insert row
    by row on SQLite (no sentinel to sort by there)."""
    if not rows:
        return []
    table = _POINTS
    inserted = {(s, a): i for i, s, a in session.execute(_INSERT_POINTS, list(rows))}
    ids = [inserted[row["series_id"], row["article_id"]] for row in rows]
    if links:
        session.execute(
            update(table).where(table.c.id == bindparam("point")).values(previous_id=bindparam("previous")),
            [{"point": ids[i], "previous": ids[j]} for i, j in links],
        )
    return ids


_POINTS = typing.cast(Table, SeriesPoint.__table__)
_INSERT_POINTS = insert(_POINTS).returning(_POINTS.c.id, _POINTS.c.series_id, _POINTS.c.article_id)


def delete_points(session: Session, point_ids: Sequence[int]) -> None:
    for chunk in batched(sorted(point_ids)):
        session.execute(delete(SeriesPoint).where(SeriesPoint.id.in_(chunk)))


def _latest_id(series_id: Any, published_by: Any = None, other_than: Any = None) -> Any:
    """The id of a series' latest point (by publication time, then id), published at or before
    `published_by` and from another article than `other_than` when given: a correlated subquery, one
    seek on ix_series_points_series_published per series instead of a scan of its points."""
    point = aliased(SeriesPoint)
    query = select(point.id).where(point.series_id == series_id)
    if published_by is not None:
        query = query.where(point.published <= published_by)
    if other_than is not None:
        query = query.where(point.article_id != other_than)
    return query.order_by(point.published.desc(), point.id.desc()).limit(1).correlate_except(point).scalar_subquery()


def newest_points(session: Session, series_ids: Iterable[int]) -> dict[int, SeriesPoint]:
    """Each series' latest point (by publication time, then id), for the series that have one: one
    statement per chunk of series."""
    found: dict[int, SeriesPoint] = {}
    for chunk in batched(sorted(set(series_ids))):
        found.update((p.series_id, p) for p in session.scalars(_newest_points(), {"ids": chunk}))
    return found


@functools.cache
def _newest_points() -> Select[SeriesPoint]:
    """The statement of `newest_points` (parameter ids), built once: it runs for every stored batch."""
    newest = (
        select(_latest_id(SeriesRow.id).label("point_id"))
        .where(SeriesRow.id.in_(bindparam("ids", expanding=True)))
        .subquery()
    )
    return select(SeriesPoint).join(newest, newest.c.point_id == SeriesPoint.id)


# Probes per statement: each is one SELECT of a UNION ALL, under SQLite's limit of 500 compound terms.
_PROBES = 100


def latest_points_before(session: Session, probes: Sequence[tuple[int, datetime, str]]) -> list[SeriesPoint | None]:
    """For each probe (series id, time, article id): the series' latest point published at or before
    the time from another article, or None; one statement per chunk of probes."""
    found: list[SeriesPoint | None] = [None] * len(probes)
    published_type = SeriesPoint.published.type
    for first in range(0, len(probes), _PROBES):
        chunk = probes[first : first + _PROBES]
        rows = union_all(
            *(
                select(
                    literal(first + i, Integer).label("probe"),
                    literal(series_id, Integer).label("series_id"),
                    literal(when, published_type).label("published"),
                    literal(article_id, String).label("article_id"),
                )
                for i, (series_id, when, article_id) in enumerate(chunk)
            )
        ).subquery()
        latest = select(
            rows.c.probe,
            _latest_id(rows.c.series_id, rows.c.published, rows.c.article_id).label("point_id"),
        ).subquery()
        query = select(latest.c.probe, SeriesPoint).join(SeriesPoint, SeriesPoint.id == latest.c.point_id)
        for probe, point in session.execute(query):
            found[probe] = point
    return found


@dataclass(frozen=True, slots=True)
class Source:
    """Where a point's figure was read: the outlet, the link, the title."""

    source: str
    link: str | None
    title: str


def sources(session: Session, article_ids: Iterable[str]) -> dict[str, Source]:
    found: dict[str, Source] = {}
    for chunk in batched(sorted(set(article_ids))):
        query = select(ArticleRow.id, ArticleRow.source, ArticleRow.link, ArticleRow.title).where(
            ArticleRow.id.in_(chunk)
        )
        found.update((i, Source(s, link, t)) for i, s, link, t in session.execute(query))
    return found


def point_figure(point: SeriesPoint, series: SeriesRow) -> TroopMention:
    """A stored point's figure as the record detection made (actor and place from its series)."""
    return figure_of(point, series.actor, series.place)


def stored_changes(session: Session, article_ids: Iterable[str]) -> list[tuple[SeriesPoint, SeriesPoint, SeriesRow]]:
    """(point, the point it changed from, its series) of these articles' points that changed their series
    as its newest figure (those that were alerted when stored)."""
    previous = aliased(SeriesPoint)
    out: list[tuple[SeriesPoint, SeriesPoint, SeriesRow]] = []
    for chunk in batched(sorted(set(article_ids))):
        query = (
            select(SeriesPoint, previous, SeriesRow)
            .join(previous, previous.id == SeriesPoint.previous_id)
            .join(SeriesRow, SeriesRow.id == SeriesPoint.series_id)
            .where(SeriesPoint.article_id.in_(chunk), SeriesPoint.changed.is_(True), SeriesPoint.newest.is_(True))
        )
        out += [(p, prev, s) for p, prev, s in session.execute(query)]
    return out


# --- Read models: the series list and a series with its points (dashboard and API) -----------------


@dataclass(frozen=True, slots=True)
class SeriesFilters:
    """What the series list filters on; None = any."""

    actor: str | None = None
    place: str | None = None
    unit_class: str | None = None
    kind: str | None = None
    topic: str | None = None  # series with at least one report on this topic


def _series_json(row: SeriesRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "actor": row.actor,
        "place": row.place,
        "place_name": row.place_name,
        "unit_class": row.unit_class,
        "kind": row.kind,
    }


def series_list(session: Session, filters: SeriesFilters, limit: int = 200) -> list[dict[str, Any]]:
    """Series with their number of points and changes, the latest figure and the last report's time,
    the series with the latest report first."""
    counts = (
        select(
            SeriesPoint.series_id,
            func.count().label("points"),
            func.sum(cast(SeriesPoint.changed, Integer)).label("changes"),
            func.max(SeriesPoint.published).label("last"),
        )
        .group_by(SeriesPoint.series_id)
        .subquery()
    )
    query = select(SeriesRow, counts.c.points, counts.c.changes, counts.c.last).join(
        counts, counts.c.series_id == SeriesRow.id
    )
    for column, value in (
        (SeriesRow.actor, filters.actor),
        (SeriesRow.place, filters.place),
        (SeriesRow.unit_class, filters.unit_class),
        (SeriesRow.kind, filters.kind),
    ):
        if value:
            query = query.where(column == value)
    if filters.topic:
        on_topic = (
            select(SeriesPoint.id)
            .join(ArticleTopic, ArticleTopic.article_id == SeriesPoint.article_id)
            .where(SeriesPoint.series_id == SeriesRow.id, ArticleTopic.topic == filters.topic)
        )
        query = query.where(exists(on_topic))
    rows = session.execute(query.order_by(counts.c.last.desc(), SeriesRow.id).limit(limit)).all()
    newest = newest_points(session, [row.id for row, *_ in rows])
    out = []
    for row, points, changes, last in rows:
        latest = newest.get(row.id)
        out.append(
            {
                **_series_json(row),
                "points": int(points),
                "changes": int(changes or 0),
                "last_report": utc_iso(last),
                "latest": _point_json(latest, row, None, None) if latest else None,
            }
        )
    return out


def _point_json(
    point: SeriesPoint, series: SeriesRow, article: ArticleRow | None, mention_id: int | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": point.id,
        "article_id": point.article_id,
        "published": utc_iso(point.published),
        "figure": point_figure(point, series).to_json(),
        "changed": point.changed,
        "previous_id": point.previous_id,
    }
    if article is not None:
        data |= {"title": article.title, "outlet": article.source, "link": article.link, "mention_id": mention_id}
    return data


def series_detail(session: Session, series_id: int) -> dict[str, Any] | None:
    """A series with all its points in time order, each with its report (title, outlet, link) and the
    id of the troop mention it was read from now (the article page's quote anchor; None if gone)."""
    row = session.get(SeriesRow, series_id)
    if row is None:
        return None
    mention = (
        select(TroopMentionRow.id)
        .where(
            TroopMentionRow.article_id == SeriesPoint.article_id,
            TroopMentionRow.start == SeriesPoint.start,
            TroopMentionRow.end == SeriesPoint.end,
        )
        .scalar_subquery()
    )
    query = (
        select(SeriesPoint, ArticleRow, mention)
        .join(ArticleRow, ArticleRow.id == SeriesPoint.article_id)
        .where(SeriesPoint.series_id == series_id)
        .order_by(SeriesPoint.published, SeriesPoint.id)
    )
    points = [_point_json(p, row, a, m) for p, a, m in session.execute(query)]
    return {**_series_json(row), "points": points}
