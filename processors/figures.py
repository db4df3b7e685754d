"""Whether two troop figures can be one count, as their wording allows: the one rule that figure
series (a changed figure) and stories across languages (a shared figure) both read.

Each figure stands for an interval, widened by what its wording allows: 10% either way with an
approximation word ("about", "more than", "près de", "rund", "około"), 5% for a round number written
without one (100 or more with at most two significant digits: "80,000", "1,500"), nothing for an exact
figure ("80,500", "750"); a range ("3,000-5,000") is its own interval. Two figures are the same when
either one's stated interval meets the other's widened interval: "about 80,000" and "80,500" are the
same, "about 80,000" and "about 70,000" are not, 80,000 and 65,000 are not.
"""

from __future__ import annotations

from typing import Protocol

APPROX_TOLERANCE = 0.10  # "about 80,000": 72,000 to 88,000
ROUND_TOLERANCE = 0.05  # "80,000" as written: 76,000 to 84,000
ROUND_FROM = 100  # a round number: 100 or more with at most two significant digits ("1,500", "80,000")


class Figure(Protocol):
    """What the rule reads of a figure (a TroopMention, a story member's figure)."""

    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def approx(self) -> bool: ...


def same_figure(a: Figure, b: Figure) -> bool:
    """The two figures may be the same number, as their wording allows."""
    return _meets((b.low, b.high), _widened(a)) or _meets((a.low, a.high), _widened(b))


def _tolerance(m: Figure) -> float:
    if m.approx:
        return APPROX_TOLERANCE
    if all(_round(v) for v in (m.low, m.high)):
        return ROUND_TOLERANCE
    return 0.0


def _round(value: float) -> bool:
    """80,000 and 1,500 are round (likely rounded), 80,500 and 750 are not."""
    if value < ROUND_FROM or not float(value).is_integer():
        return False
    return len(str(int(value)).rstrip("0")) <= 2


def _widened(m: Figure) -> tuple[float, float]:
    t = _tolerance(m)
    return m.low * (1 - t), m.high * (1 + t)


def _meets(interval: tuple[float, float], other: tuple[float, float]) -> bool:
    return interval[0] <= other[1] and other[0] <= interval[1]
