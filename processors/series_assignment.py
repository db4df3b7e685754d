"""Recording a batch's figures in their series: load the series' latest points, decide with the pure
functions of newsvigil.processors.series, save the points; report the changes that are news.

Every stored article's figures join their series, on a topic or not (a series is about the figure,
and the issue asks that each stored mention join its series); only a new event (a report on a topic,
placed in a story) raises a figure_changed alert, as only events alert.

A point is compared with the latest earlier point of its series (by publication time, from another
report). A change is alerted only when the new point is the newest of its series: a late report of
an older figure is recorded (and shown) but is not news. Articles stored again (a replay of known
items, `reprocess`) keep their points: a figure read differently updates its point in place, a
figure no longer read takes its point out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from newsvigil.processors.rules import RuleSet
from newsvigil.processors.series import FigureChange, FigurePoint, SeriesKey, figure_change, series_figures
from newsvigil.records import Article, Detection, TroopMention, parse_time, utcnow
from newsvigil.storage import series as stored
from newsvigil.storage.mapping import figure_columns
from newsvigil.storage.models import SeriesPoint, SeriesRow


@dataclass(slots=True)
class _Point:
    """A point as this batch compares it: stored (its id known) or added by this batch (`index` into
    the rows inserted at the end, its id known after)."""

    id: int | None
    index: int | None
    article_id: str
    published: datetime
    figure: TroopMention


@dataclass(slots=True)
class _SeriesState:
    """A series as this batch sees it: its newest point, and the points this batch added (time order)."""

    row: SeriesRow
    newest: _Point | None
    added: list[_Point] = field(default_factory=list)


def _stored(point: SeriesPoint, series: SeriesRow) -> _Point:
    return _Point(point.id, None, point.article_id, parse_time(point.published), stored.point_figure(point, series))


def _point(point: _Point, source: stored.Source | None) -> FigurePoint:
    return FigurePoint(
        id=point.id,
        article_id=point.article_id,
        published=point.published,
        figure=point.figure,
        source=source.source if source else "",
        link=source.link if source else None,
        title=source.title if source else "",
    )


def _key_of(row: SeriesRow) -> SeriesKey:
    return SeriesKey(row.actor, row.place, row.unit_class, row.kind)


def record_series(
    session: Session,
    results: Sequence[tuple[Article, Detection]],
    new_ids: set[str],
    rules: RuleSet,
    stored_before: set[str],
) -> list[FigureChange]:
    """Record the series points of a batch of stored articles; return the changes brought by the new
    reports (`new_ids`) that are the newest figure of their series, in time order. `stored_before`:
    those of the articles stored before this batch (only they can have points)."""
    latest = {a.id: (a, d) for a, d in results}
    troops = rules.troops
    wanted: dict[str, dict[SeriesKey, TroopMention]] = {}
    for article_id, (article, detection) in latest.items():
        if detection.troops:
            found = series_figures(detection.troops, article.text, troops.unit_classes, troops.incidents)
            if found:
                wanted[article_id] = found
    # Any article may have points already: stored before (a new event may be an article stored before
    # on no topic). One indexed query per batch.
    existing = stored.points_of_articles(session, [i for i in latest if i in stored_before])
    if not wanted and not existing:
        return []
    names: dict[tuple[str, str, str, str], str | None] = {}
    for found in wanted.values():
        for key, mention in found.items():
            # The gazetteer's English name ("Kyiv"; "Middle East" for "the Middle East"), not the
            # inflected form a report used ("Kijowie").
            place = troops.places.places.get(key.place)
            name = place.name.removeprefix("the ") if place else mention.place_name
            names.setdefault((key.actor, key.place, key.unit_class, key.kind), name)
    series = {_key_of(row): row for row in stored.ensure_series(session, names).values()}
    by_id = {row.id: row for row in series.values()}

    # Points already stored: updated in place, or taken out when their figure is no longer read.
    kept: set[tuple[int, str]] = set()
    gone: list[int] = []
    for old in existing:
        row = by_id.get(old.series_id)
        read = wanted.get(old.article_id, {}).get(_key_of(row)) if row else None
        if read is None:
            gone.append(old.id)
            continue
        kept.add((old.series_id, old.article_id))
        for column, value in figure_columns(read).items():
            if getattr(old, column) != value:
                setattr(old, column, value)
    if gone:
        session.flush()
        stored.delete_points(session, gone)

    additions = sorted(
        (
            (latest[article_id][0].when, article_id, series[key], mention)
            for article_id, found in wanted.items()
            for key, mention in found.items()
            if (series[key].id, article_id) not in kept
        ),
        key=lambda item: (item[0], item[1], item[2].id),
    )
    # The stored points the additions are compared with, loaded for the whole batch (not per series,
    # not per point): each series' newest, and for a late point (published before its series' stored
    # newest; the additions come in time order, so only a stored point can be later) the latest
    # stored point at or before it.
    newest_stored = stored.newest_points(session, {row.id for _, _, row, _ in additions})
    late = [
        (row.id, when, article_id)
        for when, article_id, row, _ in additions
        if row.id in newest_stored and parse_time(newest_stored[row.id].published) > when
    ]
    before = dict(zip(late, stored.latest_points_before(session, late), strict=True))
    states: dict[int, _SeriesState] = {}
    now = utcnow()
    rows: list[dict[str, Any]] = []
    links: list[tuple[int, int]] = []  # (row, row of this batch it was compared with): ids known after the insert
    changes: list[tuple[_Point, _Point, SeriesRow]] = []
    for when, article_id, row, mention in additions:
        state = states.get(row.id)
        if state is None:
            newest_point = newest_stored.get(row.id)
            state = states[row.id] = _SeriesState(row, _stored(newest_point, row) if newest_point else None)
        newest = state.newest is None or state.newest.published <= when
        previous = state.newest if newest else _latest_before(state, when, article_id, before[row.id, when, article_id])
        changed = previous is not None and figure_change(previous.figure, mention)
        point = _Point(None, len(rows), article_id, when, mention)
        if previous is not None and previous.index is not None:
            links.append((len(rows), previous.index))
        rows.append(
            {
                "series_id": row.id,
                "article_id": article_id,
                "published": when,
                "previous_id": previous.id if previous is not None else None,
                "changed": changed,
                "newest": newest,
                "created_at": now,
                **figure_columns(mention),
            }
        )
        state.added.append(point)
        if newest:
            state.newest = point
        if changed and newest and previous is not None and article_id in new_ids:
            changes.append((point, previous, row))
    ids = stored.insert_points(session, rows, links)
    for point, previous, _ in changes:
        point.id = ids[point.index] if point.index is not None else point.id
        previous.id = ids[previous.index] if previous.index is not None else previous.id
    return _changes(session, changes) if changes else []


def _latest_before(
    state: _SeriesState, when: datetime, article_id: str, stored_point: SeriesPoint | None
) -> _Point | None:
    """The latest point at or before `when` from another article: `stored_point` (the stored one), or
    one added by this batch."""
    candidates = [p for p in state.added if p.published <= when and p.article_id != article_id]
    if stored_point is not None:
        candidates.append(_stored(stored_point, state.row))
    return max(candidates, key=lambda p: p.published, default=None)


def _changes(session: Session, rows: Sequence[tuple[_Point, _Point, SeriesRow]]) -> list[FigureChange]:
    """The changes as alerts tell them: both figures with their reports."""
    meta = stored.sources(session, [p.article_id for point, previous, _ in rows for p in (point, previous)])
    return [
        FigureChange(
            series_id=row.id,
            key=_key_of(row),
            place_name=row.place_name,
            previous=_point(previous, meta.get(previous.article_id)),
            current=_point(point, meta.get(point.article_id)),
        )
        for point, previous, row in rows
    ]


def stored_figure_changes(session: Session, article_ids: Sequence[str]) -> list[FigureChange]:
    """The changes these (known) reports brought when they were stored, for alerting about history."""
    if not article_ids:
        return []
    found = stored.stored_changes(session, article_ids)
    return _changes(session, [(_stored(p, row), _stored(prev, row), row) for p, prev, row in found])
