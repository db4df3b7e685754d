"""Spikes: an hour with more reports on a topic than its recent past makes plausible. Pure functions
over hourly counts of on-topic reports; storage/spikes.py loads the counts, spike_detection.py wires.

The statistic, per key (topic, language) and per key (topic, '') for every language together:

- Reports are placed in clock hours (UTC) by their time, `Article.when` (published, else fetched).
- The **baseline** of hour h is an exponentially weighted mean of the counts of the
  `baseline_days * 24` hours before it: hour h-k weighs 2^(-k / halflife_hours) (hours with no
  report count as 0, so a new topic starts quiet); `sd` is the weighted standard deviation. The
  alert says "usual mean ± sd". Only hours since the first stored report (of any topic) count, and
  no hour is judged before `warmup_hours` of them: the first hours of a new database have no past.
- The **rate** tested is max(mean, floor): a topic that is usually silent is held to `floor`
  reports per hour, so 2 reports never make a spike.
- Hour h is a **spike** as soon as its count n reaches `min_reports` and the Poisson tail
  P(X ≥ n | rate) falls below `alpha`. The report that makes the count reach it is the one that
  crossed; the count recorded is the count then.
- At most one spike per key within `cooldown_hours` of another (either side).

Deterministic from the data: reports are evaluated one by one in (time, id) order, each over the
reports with a time at or before its own (a batch is sorted first, so the order within a batch never
matters; hours before h are complete when h is judged). Replaying an archive (in time order) gives the
spikes live processing gave whenever live reports arrived in time order across batches. A report that
arrives **late** — its hour more than `late_hours` before the newest hour of its key already stored —
is counted (later baselines see it) but raises no spike: a spike is news of the moment, and a late
report must not open one in the past that processing in time order would not have had.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from newsvigil.defaults import (
    DEFAULT_SPIKE_ALPHA,
    DEFAULT_SPIKE_BASELINE_DAYS,
    DEFAULT_SPIKE_COOLDOWN_HOURS,
    DEFAULT_SPIKE_FLOOR,
    DEFAULT_SPIKE_HALFLIFE_HOURS,
    DEFAULT_SPIKE_LATE_HOURS,
    DEFAULT_SPIKE_MIN_REPORTS,
    DEFAULT_SPIKE_WARMUP_HOURS,
)
from newsvigil.records import hour_of, hour_start

ALL_LANGUAGES = ""  # the language of a topic-wide key
Key = tuple[str, str]  # (topic, language or ALL_LANGUAGES)


@dataclass(frozen=True, slots=True)
class SpikeParams:
    """The statistic's parameters (NEWSVIGIL_SPIKE_* settings)."""

    halflife_hours: float = DEFAULT_SPIKE_HALFLIFE_HOURS
    baseline_days: int = DEFAULT_SPIKE_BASELINE_DAYS
    floor: float = DEFAULT_SPIKE_FLOOR
    alpha: float = DEFAULT_SPIKE_ALPHA
    min_reports: int = DEFAULT_SPIKE_MIN_REPORTS
    cooldown_hours: int = DEFAULT_SPIKE_COOLDOWN_HOURS
    late_hours: int = DEFAULT_SPIKE_LATE_HOURS
    warmup_hours: int = DEFAULT_SPIKE_WARMUP_HOURS

    @property
    def baseline_hours(self) -> int:
        return self.baseline_days * 24


@dataclass(frozen=True, slots=True)
class Baseline:
    """What an hour is judged against: the weighted mean and sd of the hours before it, the rate
    tested, and the least count that is a spike at that rate."""

    mean: float
    sd: float
    rate: float
    threshold: int


def poisson_tail(n: int, rate: float) -> float:
    """P(X ≥ n) for X ~ Poisson(rate), summed term by term (exact in the far tail, where 1 - cdf is not)."""
    if n <= 0:
        return 1.0
    if rate <= 0:
        return 0.0

    def term(k: int) -> float:
        return math.exp(k * math.log(rate) - rate - math.lgamma(k + 1))

    if n <= rate:  # the tail holds most of the mass: 1 - the (short) head
        return max(0.0, 1.0 - math.fsum(term(k) for k in range(n)))
    total, k = 0.0, n
    while True:
        t = term(k)
        total += t
        if t < total * 1e-17:
            return min(total, 1.0)
        k += 1


def threshold(rate: float, params: SpikeParams) -> int:
    """The least count, at least `min_reports`, whose Poisson tail at `rate` is below alpha."""
    start = max(params.min_reports, math.floor(rate) + 1)
    if rate <= 0:
        return start
    # The terms of the tail from `start` on (each from the one before), until they stop mattering;
    # then tail(n) = the sum of the terms from n, read from the far end.
    terms = [math.exp(start * math.log(rate) - rate - math.lgamma(start + 1))]
    while terms[-1] > params.alpha * 1e-6:
        terms.append(terms[-1] * rate / (start + len(terms)))
    tail = 0.0
    n = start + len(terms)
    for t in reversed(terms):
        if tail + t >= params.alpha:
            return n
        tail += t
        n -= 1
    return start


def weights(params: SpikeParams) -> list[float]:
    """Weight of hour h-k for k = 1 .. baseline_hours."""
    return [0.5 ** (k / params.halflife_hours) for k in range(1, params.baseline_hours + 1)]


def baseline(
    counts: Mapping[int, int], hour: int, params: SpikeParams, first: int | None = None, w: Sequence[float] = ()
) -> Baseline:
    """The baseline of `hour` from the counts of the hours before it, back to the hour `first` at
    the earliest (missing hours count 0)."""
    w = w or weights(params)
    if first is not None:
        w = w[: max(1, min(len(w), hour - first))]
    values = [counts.get(hour - k, 0) for k in range(1, len(w) + 1)]
    total = math.fsum(w)
    mean = math.fsum(wi * c for wi, c in zip(w, values, strict=True)) / total
    var = math.fsum(wi * (c - mean) ** 2 for wi, c in zip(w, values, strict=True)) / total
    rate = max(mean, params.floor)
    return Baseline(mean, math.sqrt(var), rate, threshold(rate, params))


@dataclass(frozen=True, slots=True)
class Report:
    """An on-topic report as spikes see it."""

    article_id: str
    when: datetime
    topics: tuple[str, ...]
    language: str | None

    @property
    def keys(self) -> list[Key]:
        """Topic-wide keys, and topic × language keys when the language is known."""
        out = [(t, ALL_LANGUAGES) for t in self.topics]
        if self.language:
            out += [(t, self.language) for t in self.topics]
        return out


@dataclass(frozen=True, slots=True)
class Spike:
    """An hour whose count crossed its threshold, and the report that crossed it."""

    topic: str
    language: str  # ALL_LANGUAGES for every language together
    hour: int
    count: int
    mean: float
    sd: float
    p_value: float
    article_id: str

    @property
    def key(self) -> Key:
        return (self.topic, self.language)

    @property
    def window_start(self) -> datetime:
        return hour_start(self.hour)

    @property
    def window_end(self) -> datetime:
        return hour_start(self.hour + 1)


def describe(topic: str, language: str, count: int, window_start: datetime, mean: float, sd: float) -> str:
    """'greenland (da): 42 reports in the hour from 2026-11-20 14:00 UTC, usual 3 ± 2'."""
    who = f"{topic} ({language})" if language else topic
    return (
        f"{who}: {count} report{'s' if count != 1 else ''} in the hour from "
        f"{window_start.astimezone(UTC):%Y-%m-%d %H:%M} UTC, usual {_round(mean)} ± {_round(sd)}"
    )


def _round(x: float) -> str:
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


@dataclass(slots=True)
class History:
    """What was stored before a batch, for the keys it touches: reports per hour (from
    `baseline_hours` before the batch's first hour), the newest hour of each key (wherever it is),
    the hours of recorded spikes (within `cooldown_hours` of the batch), and the hour of the first
    report stored (any topic; None: nothing stored)."""

    first_hour: int | None = None
    counts: dict[Key, dict[int, int]] = field(default_factory=dict)
    newest: dict[Key, int] = field(default_factory=dict)
    spikes: dict[Key, set[int]] = field(default_factory=dict)


def tally(reports: Iterable[Report]) -> dict[Key, dict[int, int]]:
    """Reports per key per hour."""
    out: dict[Key, dict[int, int]] = {}
    for r in reports:
        hour = hour_of(r.when)
        for key in r.keys:
            per_hour = out.setdefault(key, {})
            per_hour[hour] = per_hour.get(hour, 0) + 1
    return out


def find_spikes(reports: Iterable[Report], history: History, params: SpikeParams) -> list[Spike]:
    """The spikes these new reports raise over what was stored before them, in (time, id) order.

    `history` is not changed.
    """
    counts = {key: dict(per_hour) for key, per_hour in history.counts.items()}
    newest = dict(history.newest)
    spiked = {key: set(hours) for key, hours in history.spikes.items()}
    judged: dict[tuple[Key, int], Baseline] = {}
    w = weights(params)
    out: list[Spike] = []
    ordered = sorted(reports, key=lambda r: (r.when, r.article_id))
    hours = [hour_of(r.when) for r in ordered]
    first = min([*hours[:1], *([history.first_hour] if history.first_hour is not None else [])], default=0)
    for report, hour in zip(ordered, hours, strict=True):
        for key in report.keys:
            per_hour = counts.setdefault(key, {})
            n = per_hour[hour] = per_hour.get(hour, 0) + 1
            late = newest.get(key, hour) > hour + params.late_hours
            newest[key] = max(newest.get(key, hour), hour)
            if late or n < params.min_reports or hour - first < params.warmup_hours:
                continue
            near = spiked.setdefault(key, set())
            if any(abs(hour - s) < params.cooldown_hours for s in near):
                continue
            if (key, hour) not in judged:  # hours before this one are complete: judged once
                judged[key, hour] = baseline(per_hour, hour, params, first, w)
            base = judged[key, hour]
            if n >= base.threshold:
                near.add(hour)
                out.append(
                    Spike(key[0], key[1], hour, n, base.mean, base.sd, poisson_tail(n, base.rate), report.article_id)
                )
    return out


@dataclass(frozen=True, slots=True)
class RecordedSpike:
    """A spike as stored: its id names its alerts (event key "spike:<id>")."""

    id: int
    spike: Spike
