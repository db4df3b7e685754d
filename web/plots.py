"""The dashboard's timeline plots as inline SVG: rendered on the server, no script, no build step.

Every piece of text from feeds is escaped here; links are built from our own ids only.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 760, 220
RIGHT, TOP, BOTTOM = 120, 12, 28
# The y-axis labels sit left of the axis, right-aligned: the margin is sized to the widest one. Tick
# text is 10px (style.css); 6.2px covers a digit or a letter of the usual sans-serif faces.
TICK_CHAR_WIDTH, TICK_GAP, MIN_LEFT = 6.2, 6 + 4, 32
MAX_NAMED_POINTS = 12  # a series plot names each point's outlet up to this many points (then: its tooltip)
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def left_margin(y_labels: list[tuple[float, str]]) -> float:
    """Room left of the y axis for its widest label (so "10,000,000" is not cut to "000,000")."""
    widest = max((len(label) for _, label in y_labels), default=0)
    return max(MIN_LEFT, round(widest * TICK_CHAR_WIDTH + TICK_GAP))


class TimeAxis:
    """Where a time falls between `since` and `until`, right of a y axis at `left`."""

    def __init__(self, since: datetime, until: datetime, left: float) -> None:
        self.since, self.until, self.left = since, until, left

    def x(self, when: datetime | date) -> float:
        if isinstance(when, date) and not isinstance(when, datetime):
            when = datetime(when.year, when.month, when.day, 12, tzinfo=self.since.tzinfo)
        span = max((self.until - self.since).total_seconds(), 1.0)
        share = min(max((when - self.since).total_seconds() / span, 0.0), 1.0)
        return self.left + (WIDTH - self.left - RIGHT) * share


def _frame(title: str, axis_x: TimeAxis, y_labels: list[tuple[float, str]], body: list[str]) -> Markup:
    left, since, until = axis_x.left, axis_x.since, axis_x.until
    axis = [
        f'<line x1="{left}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" class="axis"/>',
        f'<line x1="{left}" y1="{TOP}" x2="{left}" y2="{HEIGHT - BOTTOM}" class="axis"/>',
    ]
    for y, label in y_labels:
        axis.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{escape(label)}</text>')
        axis.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>')
    days = max(1, (until - since).days)
    step = max(1, days // 6)
    day = since.date()
    while day <= until.date():
        x = axis_x.x(day)
        axis.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 8}" class="tick" text-anchor="middle">{day.strftime("%d %b")}</text>'
        )
        day += timedelta(days=step)
    return Markup(
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" class="plot">'
        f"<title>{escape(title)}</title>{''.join(axis)}{''.join(body)}</svg>"
    )


def reports_chart(series: dict[str, dict[str, int]], since: datetime, until: datetime) -> Markup:
    """Reports per topic per day: one line (and dots) per topic, with a legend."""
    top = max([n for per_day in series.values() for n in per_day.values()] or [1])
    scale = (HEIGHT - TOP - BOTTOM) / top

    def y(n: float) -> float:
        return HEIGHT - BOTTOM - n * scale

    ticks = [(y(v), str(v)) for v in sorted({0, top // 2, top})]
    axis_x = TimeAxis(since, until, left_margin(ticks))
    body = []
    for i, (topic, per_day) in enumerate(sorted(series.items())):
        color = PALETTE[i % len(PALETTE)]
        points = sorted((date.fromisoformat(d), n) for d, n in per_day.items())
        coords = " ".join(f"{axis_x.x(d):.1f},{y(n):.1f}" for d, n in points)
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2" class="series" data-topic="{escape(topic)}"/>'
        )
        for d, n in points:
            body.append(
                f'<circle cx="{axis_x.x(d):.1f}" cy="{y(n):.1f}" r="3" fill="{color}" class="day">'
                f"<title>{escape(topic)}: {n} report{'s' if n != 1 else ''} on {d.isoformat()}</title></circle>"
            )
        body.append(
            f'<text x="{WIDTH - RIGHT + 10}" y="{TOP + 14 + 16 * i}" fill="{color}" class="legend">{escape(topic)}</text>'
        )
    if not series:
        body.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="empty">no reports in this window</text>'
        )
    return _frame("Reports per topic per day", axis_x, ticks, body)


def figures_chart(points: list[dict], since: datetime, until: datetime) -> Markup:
    """Troop figures over time on a log scale; each point links to its quote in its article."""
    values = [max(p["value"], 1.0) for p in points] or [10.0]
    low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    high = max(high, low + 1)

    def y(v: float) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (math.log10(max(v, 1.0)) - low) / (high - low)

    ticks = [(y(10**e), f"{10**e:,}") for e in range(low, high + 1)]
    axis_x = TimeAxis(since, until, left_margin(ticks))
    body = []
    for p in points:
        label = f"{p['value']:,.0f} {p['unit']}: “{p['quote']}” — {p['outlet']}, {p['when']:%d %b %Y}"
        body.append(
            f'<a href="/articles/{escape(p["article"])}#m{int(p["mention"])}" class="figure">'
            f'<circle cx="{axis_x.x(p["when"]):.1f}" cy="{y(p["value"]):.1f}" r="4">'
            f"<title>{escape(label)}</title></circle></a>"
        )
    if not points:
        body.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="empty">no troop figures in this window</text>'
        )
    return _frame("Troop figures over time", axis_x, ticks, body)


def series_chart(label: str, points: list[dict]) -> Markup:
    """A series' figures over time on a linear scale from 0: a line through them, a bar for a range,
    changed figures marked; each point links to its quote in its article and names its outlet."""
    if points:
        times = [p["when"] for p in points]
        pad = max((max(times) - min(times)) / 20, timedelta(days=1))
        since, until = min(times) - pad, max(times) + pad
    else:
        until = datetime.now().astimezone()
        since = until - timedelta(days=30)
    top = max([p["high"] for p in points] or [10.0]) * 1.1
    step = 10 ** max(0, math.floor(math.log10(top)))
    step = step // 2 if top / step < 3 and step > 1 else step

    def y(v: float) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * v / top

    ticks = [(y(v), f"{v:,}") for v in range(0, int(top) + 1, max(int(step), 1))]
    axis_x = TimeAxis(since, until, left_margin(ticks))
    coords = " ".join(f"{axis_x.x(p['when']):.1f},{y(p['value']):.1f}" for p in points)
    named = len(points) <= MAX_NAMED_POINTS
    body = [f'<polyline points="{coords}" fill="none" stroke="{PALETTE[0]}" stroke-width="2" class="series"/>']
    for p in points:
        x = axis_x.x(p["when"])
        figure = f"{p['low']:,.0f}–{p['high']:,.0f}" if p["low"] != p["high"] else f"{p['value']:,.0f}"
        tip = f"{'~' if p['approx'] else ''}{figure} {p['unit']}: “{p['quote']}” — {p['outlet']}, {p['when']:%d %b %Y}"
        anchor = f"#m{int(p['mention'])}" if p.get("mention") is not None else ""
        changed = " changed" if p["changed"] else ""
        bar = (
            f'<line x1="{x:.1f}" y1="{y(p["low"]):.1f}" x2="{x:.1f}" y2="{y(p["high"]):.1f}" class="range"/>'
            if p["low"] != p["high"]
            else ""
        )
        body.append(
            f'<a href="/articles/{escape(p["article"])}{anchor}" class="figure{changed}">{bar}'
            f'<circle cx="{x:.1f}" cy="{y(p["value"]):.1f}" r="{5 if changed else 4}"><title>{escape(tip)}</title></circle>'
            + (
                f'<text x="{x:.1f}" y="{y(p["value"]) - 8:.1f}" text-anchor="middle" class="outlet">'
                f"{escape(p['outlet'][:24])}</text>"
                if named
                else ""
            )
            + "</a>"
        )
    if not points:
        body.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="empty">no figures yet</text>')
    return _frame(label, axis_x, ticks, body)
