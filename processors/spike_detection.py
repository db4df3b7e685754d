"""Spikes of a batch of new reports: load the counts around them (one grouped query), decide with the
pure functions of newsvigil.processors.spikes, record what crossed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from newsvigil.processors.spikes import (
    ALL_LANGUAGES,
    History,
    Key,
    RecordedSpike,
    Report,
    Spike,
    SpikeParams,
    find_spikes,
    tally,
)
from newsvigil.records import Event, hour_of, hour_start, parse_time
from newsvigil.storage import spikes as stored


def report_of(event: Event) -> Report:
    """An event as spikes count it: its time, topics and detected language."""
    return Report(
        event.article.id, event.article.when, tuple(dict.fromkeys(event.detection.topics)), event.detection.lang
    )


def stored_history(session: Session, reports: Sequence[Report], params: SpikeParams, first: int | None) -> History:
    """What the database held before these reports (which it holds already), for the keys they touch."""
    hours = [hour_of(r.when) for r in reports]
    low, high = min(hours), max(hours)
    topics = {t for r in reports for t in r.topics}
    counts: dict[Key, dict[int, int]] = {}
    beyond: dict[Key, int] = {}  # the newest hour after the batch's last, where there is one
    for topic, language, hour, n, latest in stored.hourly_counts(session, topics, low - params.baseline_hours, high):
        keys = [(topic, ALL_LANGUAGES)] + ([(topic, language)] if language else [])
        for key in keys:
            if hour > high:
                beyond[key] = max(beyond.get(key, latest), latest)
            else:
                per_hour = counts.setdefault(key, {})
                per_hour[hour] = per_hour.get(hour, 0) + n
    for key, batch_hours in tally(reports).items():  # take the batch out: it is judged report by report
        per_hour = counts.get(key, {})
        for hour, n in batch_hours.items():
            left = per_hour.get(hour, 0) - n
            if left > 0:
                per_hour[hour] = left
            else:
                per_hour.pop(hour, None)
    newest = {key: max(per_hour) for key, per_hour in counts.items() if per_hour}
    for key, hour in beyond.items():
        newest[key] = max(newest.get(key, hour), hour)
    around = timedelta(hours=params.cooldown_hours)
    spiked: dict[Key, set[int]] = {}
    for topic, language, hour in stored.spike_hours(
        session, topics, hour_start(low) - around, hour_start(high) + around
    ):
        spiked.setdefault((topic, language), set()).add(hour)
    return History(first, counts, newest, spiked)


class SpikeDetector:
    """Spike detection for one processor: the parameters, and the hour of the first stored report
    (read once per process: only ever moves earlier, and then with the batches that move it)."""

    def __init__(self, params: SpikeParams) -> None:
        self.params = params
        self._first: int | None = None
        self._first_read = False
        self._pending_first: int | None = None  # the batch's, kept once its transaction commits

    def committed(self) -> None:
        """The last batch's transaction committed: its reports are now part of what is stored."""
        self._first = self._pending_first

    def detect(self, session: Session, events: Sequence[Event]) -> list[RecordedSpike]:
        """Judge these new reports (already stored in this transaction); record and return their spikes."""
        self._pending_first = self._first
        reports = [report_of(e) for e in events if e.detection.topics]
        if not reports:
            return []
        if not self._first_read:
            self._first = stored.first_report_hour(session)
            self._first_read = True
        first = min([hour_of(r.when) for r in reports] + ([self._first] if self._first is not None else []))
        found = find_spikes(reports, stored_history(session, reports, self.params, first), self.params)
        self._pending_first = first  # a batch rolled back must not move the first stored hour
        ids = stored.save_spikes(session, [spike_row(s) for s in found])
        return [RecordedSpike(ids[s.topic, s.language, s.window_start], s) for s in found]


def spike_row(spike: Spike) -> dict[str, object]:
    """The columns of a spike's row."""
    return {
        "topic": spike.topic,
        "language": spike.language,
        "window_start": spike.window_start,
        "window_end": spike.window_end,
        "count": spike.count,
        "baseline": spike.mean,
        "sd": spike.sd,
        "p_value": spike.p_value,
        "article_id": spike.article_id,
    }


def recorded_spikes(session: Session, events: Sequence[Event]) -> list[RecordedSpike]:
    """The spikes already recorded whose threshold one of these (known) reports crossed."""
    return [
        RecordedSpike(
            row.id,
            Spike(
                row.topic,
                row.language,
                hour_of(parse_time(row.window_start)),
                row.count,
                row.baseline,
                row.sd,
                row.p_value,
                row.article_id,
            ),
        )
        for row in stored.spikes_crossed_by(session, [e.article.id for e in events])
    ]
