"""Figure series: which series a troop figure belongs to, and when a new figure changes a series.

A series is one quantity followed over time: (actor, place, unit class, kind), e.g. US · Europe ·
troops. The issue asked for (actor, place, unit class); `kind` is added because a level ("80,000 US
troops in Europe", "stationed") and a movement ("withdraw 3,000 troops from Europe", "deploy",
"cut") are different quantities: in one series every movement would read as a change of the level.
Real news (tests/processors/corpus/real) mixes them in the same headlines ("Biden reveals surprise NATO
drawdown in Europe ... 80,000 US troops"). A figure whose sentence says something happened to the
people it counts ("5 US service members killed", "two sailors charged") counts an incident, neither a
level nor a movement, and joins no series; nor does a figure without an actor or a place (whose
series would it be?) or with a unit in no class of `troops.unit_classes` (seeds/topics.yaml).

Whether two figures differ (`same_figure`): each report's figure stands for an interval, widened by
what its wording allows: 10% either way for an approximation word ("about", "more than", "près de"),
5% for a round number written without one (100 or more, at most two significant digits: "80,000",
"1,500"), nothing for an exact figure ("80,500", "750"); a range ("3,000-5,000") is its interval. Two figures are the same when
either one's stated interval meets the other's widened interval: "about 80,000" and "80,500" are the
same, "about 80,000" and "about 70,000" are not, 80,000 and 65,000 are not. A slow drift (80,000,
77,000, 74,000...) is compared step by step and may never count as a change: each report is compared
with the latest one before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from newsvigil.processors.lexicon import Lexicon, fold
from newsvigil.records import TroopMention

LEVEL, MOVEMENT = "level", "movement"
KINDS = (LEVEL, MOVEMENT)
MOVEMENT_ACTIONS = frozenset({"withdrawal", "reduction", "deployment"})  # "stationed" (or none) is a level
APPROX_TOLERANCE = 0.10  # "about 80,000": 72,000 to 88,000
ROUND_TOLERANCE = 0.05  # "80,000" as written: 76,000 to 84,000
ROUND_FROM = 100  # a round number: 100 or more with at most two significant digits ("1,500", "80,000")
INCIDENT_BEFORE, INCIDENT_AFTER = 50, 80  # characters of the figure's sentence read for incident words
_SENTENCE_END = re.compile(r"[.!?…](?=\s)|\n")


@dataclass(frozen=True, slots=True, order=True)
class SeriesKey:
    """One quantity followed over time: whose troops, where, which kind of personnel, level or movement."""

    actor: str
    place: str  # gazetteer id ("europe")
    unit_class: str  # "troops", "officers"...
    kind: str = LEVEL  # LEVEL or MOVEMENT

    def label(self, place_name: str | None = None) -> str:
        """'US · Europe · troops', '... · troops moved' for movements."""
        where = place_name or self.place.replace("-", " ").replace("_", " ").title()
        what = self.unit_class if self.kind == LEVEL else f"{self.unit_class} moved"
        return f"{self.actor} · {where} · {what}"


def unit_class(unit: str, classes: Lexicon) -> str | None:
    """The class of a unit word as written ('US-Soldaten' -> 'troops', 'oficerów' -> 'officers'), or None."""
    folded = fold(unit)
    hits = classes.find(unit, folded)
    # The hit covering most of the unit: "military personnel" is troops, not "personnel".
    best = max(hits, key=lambda h: (h.end - h.start, -h.start), default=None)
    return best.label if best else None


def figure_kind(action: str | None) -> str:
    """A movement (withdrawal, reduction, deployment) or a level (stationed, or no action said)."""
    return MOVEMENT if action in MOVEMENT_ACTIONS else LEVEL


def counts_incident(mention: TroopMention, text: str, incidents: Lexicon) -> bool:
    """The figure's sentence, near the figure, says the people it counts were killed, hurt, arrested..."""
    if not text:
        return False
    start, end = max(0, mention.start - INCIDENT_BEFORE), min(len(text), mention.end + INCIDENT_AFTER)
    before = [m.end() for m in _SENTENCE_END.finditer(text, start, mention.start)]
    after = _SENTENCE_END.search(text, mention.end, end)
    window = text[before[-1] if before else start : after.start() if after else end]
    return bool(incidents.find(window, fold(window)))


def series_key(mention: TroopMention, text: str, classes: Lexicon, incidents: Lexicon) -> SeriesKey | None:
    """The series a figure joins (`text`: the article text its offsets index into), or None: no actor,
    no place, a unit in no class, or an incident's count."""
    if not mention.actor or not mention.place:
        return None
    cls = unit_class(mention.unit, classes)
    if cls is None or counts_incident(mention, text, incidents):
        return None
    return SeriesKey(mention.actor, mention.place, cls, figure_kind(mention.action))


def series_figures(
    mentions: list[TroopMention], text: str, classes: Lexicon, incidents: Lexicon
) -> dict[SeriesKey, TroopMention]:
    """A report's figure for each series it speaks of: the first in text order (the title's, the lead's)."""
    found: dict[SeriesKey, TroopMention] = {}
    for mention in sorted(mentions, key=lambda m: m.start):
        key = series_key(mention, text, classes, incidents)
        if key is not None and key not in found:
            found[key] = mention
    return found


def _tolerance(m: TroopMention) -> float:
    if m.approx:
        return APPROX_TOLERANCE
    if all(_round(v) for v in (m.low, m.high)):
        return ROUND_TOLERANCE
    return 0.0


def _round(value: float) -> bool:
    """80,000 and 1,500 are round (likely rounded), 80,500 and 750 are not."""
    if value < ROUND_FROM or not float(value).is_integer():
        return False
    digits = str(int(value)).rstrip("0")
    return len(digits) <= 2


def _widened(m: TroopMention) -> tuple[float, float]:
    t = _tolerance(m)
    return m.low * (1 - t), m.high * (1 + t)


def _meets(interval: tuple[float, float], other: tuple[float, float]) -> bool:
    return interval[0] <= other[1] and other[0] <= interval[1]


def same_figure(previous: TroopMention, new: TroopMention) -> bool:
    """The two figures may be the same number, as their wording allows (see the module's docstring)."""
    return _meets((new.low, new.high), _widened(previous)) or _meets((previous.low, previous.high), _widened(new))


def figure_change(previous: TroopMention | None, new: TroopMention) -> bool:
    """A new figure changes its series: there was an earlier figure and this one is not the same."""
    return previous is not None and not same_figure(previous, new)


@dataclass(frozen=True, slots=True)
class FigurePoint:
    """A report's figure for a series, with the report it came from."""

    id: int | None  # the stored point's id
    article_id: str
    published: datetime
    figure: TroopMention
    source: str  # the outlet
    link: str | None
    title: str


@dataclass(frozen=True, slots=True)
class FigureChange:
    """A report whose figure for a series differs from the series' latest earlier figure."""

    series_id: int
    key: SeriesKey
    place_name: str | None
    previous: FigurePoint
    current: FigurePoint

    @property
    def event_key(self) -> str:
        """The alert outbox's key: one alert per subscriber for this report's change of this series."""
        return f"series:{self.series_id}:{self.current.article_id}"

    @property
    def label(self) -> str:
        return self.key.label(self.place_name)
