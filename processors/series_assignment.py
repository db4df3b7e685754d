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

from sqlalchemy.orm import Session

from newsvigil.processors.rules import RuleSet
from newsvigil.processors.series import FigureChange, FigurePoint, SeriesKey, figure_change, series_figures
from newsvigil.records import Article, Detection, TroopMention, parse_time, utcnow
from newsvigil.storage import series as stored
from newsvigil.storage.models import SeriesPoint, SeriesRow


@dataclass(slots=True)
class _SeriesState:
    """A series as this batch sees it: its newest point, and the points this batch added (time order)."""

    row: SeriesRow
    newest: SeriesPoint | None
    added: list[SeriesPoint] = field(default_factory=list)


def _point(row: SeriesPoint, series: SeriesRow, source: stored.Source | None) -> FigurePoint:
    return FigurePoint(
        id=row.id,
        article_id=row.article_id,
        published=parse_time(row.published),
        figure=stored.point_figure(row, series),
        source=source.source if source else "",
        link=source.link if source else None,
        title=source.title if source else "",
    )


def _key_of(row: SeriesRow) -> SeriesKey:
    return SeriesKey(row.actor, row.place, row.unit_class, row.kind)


def record_series(
    session: Session, results: Sequence[tuple[Article, Detection]], new_ids: set[str], rules: RuleSet
) -> list[FigureChange]:
    """Record the series points of a batch of stored articles; return the changes brought by the new
    reports (`new_ids`) that are the newest figure of their series, in time order."""
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
    existing = stored.points_of_articles(session, list(latest))
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
    for point in existing:
        row = by_id.get(point.series_id)
        read = wanted.get(point.article_id, {}).get(_key_of(row)) if row else None
        if read is None:
            gone.append(point.id)
            continue
        kept.add((point.series_id, point.article_id))
        for column, value in stored.figure_columns(read).items():
            if getattr(point, column) != value:
                setattr(point, column, value)
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
    states: dict[int, _SeriesState] = {}
    now = utcnow()
    changes: list[tuple[SeriesPoint, SeriesPoint, SeriesRow]] = []
    for when, article_id, row, mention in additions:
        state = states.get(row.id)
        if state is None:
            state = states[row.id] = _SeriesState(row, stored.newest_point(session, row.id))
        newest = state.newest is None or parse_time(state.newest.published) <= when
        previous = state.newest if newest else _latest_before(session, state, when, article_id)
        if previous is not None and previous.id is None:
            session.flush()  # a point of this batch: its id is needed
        changed = previous is not None and figure_change(stored.point_figure(previous, row), mention)
        point = SeriesPoint(
            series_id=row.id,
            article_id=article_id,
            published=when,
            previous_id=previous.id if previous is not None else None,
            changed=changed,
            newest=newest,
            created_at=now,
            **stored.figure_columns(mention),
        )
        session.add(point)
        state.added.append(point)
        if newest:
            state.newest = point
        if changed and newest and previous is not None and article_id in new_ids:
            changes.append((point, previous, row))
    if not changes:
        return []
    session.flush()
    return _changes(session, changes)


def _latest_before(session: Session, state: _SeriesState, when: datetime, article_id: str) -> SeriesPoint | None:
    """The latest point at or before `when` from another article: stored, or added by this batch."""
    stored_point = stored.latest_point_before(session, state.row.id, when, article_id)
    candidates = [p for p in state.added if p.published <= when and p.article_id != article_id]
    if stored_point is not None:
        candidates.append(stored_point)
    return max(candidates, key=lambda p: parse_time(p.published), default=None)


def _changes(session: Session, rows: Sequence[tuple[SeriesPoint, SeriesPoint, SeriesRow]]) -> list[FigureChange]:
    """The changes as alerts tell them: both figures with their reports."""
    meta = stored.sources(session, [p.article_id for point, previous, _ in rows for p in (point, previous)])
    return [
        FigureChange(
            series_id=row.id,
            key=_key_of(row),
            place_name=row.place_name,
            previous=_point(previous, row, meta.get(previous.article_id)),
            current=_point(point, row, meta.get(point.article_id)),
        )
        for point, previous, row in rows
    ]


def stored_figure_changes(session: Session, article_ids: Sequence[str]) -> list[FigureChange]:
    """The changes these (known) reports brought when they were stored, for alerting about history."""
    if not article_ids:
        return []
    return _changes(session, stored.stored_changes(session, article_ids))
