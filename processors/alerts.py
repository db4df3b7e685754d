"""Alert decisions and their text: the one-line console alert, subscription filters, alert content."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nh3

from newsvigil.processors.series import FigureChange, FigurePoint
from newsvigil.processors.spikes import RecordedSpike, describe
from newsvigil.processors.stories import Additions
from newsvigil.records import AlertKind, AlertPayload, AlertSeriesPoint, Event, TroopMention, parse_time


def alert_line(event: Event) -> str:
    """'[nato,greenland] 2 figures: ~1,200 militaires, 350 personnel — <title> <link>'."""
    detection = event.detection
    parts = [f"[{','.join(detection.topics)}]"]
    if detection.troops:
        figures = ", ".join(m.label() for m in detection.troops)
        count = len(detection.troops)
        parts.append(f"{count} figure{'s' if count > 1 else ''}: {figures}")
    parts.append(f"— {event.article.title}")
    if event.article.link:
        parts.append(event.article.link)
    return " ".join(parts)


# --- Subscriptions: which story events a subscriber wants, and what the alert says -------------

KINDS = tuple(AlertKind)
_PRIORITY = (AlertKind.NEW_STORY, AlertKind.NEW_FIGURE, AlertKind.NEW_REPORT)


@dataclass(frozen=True, slots=True)
class SubscriptionRule:
    """A subscriber's filters (empty sets mean 'any')."""

    id: int
    topics: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    min_figure: float | None = None
    kinds: frozenset[AlertKind] = frozenset(KINDS)
    urgent_figure: float | None = None


@dataclass(slots=True)
class StoryEvent:
    """A report that opened or joined a story, with what it adds."""

    story_id: int
    story_title: str
    story_topics: list[str]
    story_sources: list[str]
    story_languages: list[str]
    event: Event
    additions: Additions

    @property
    def key(self) -> str:
        return f"{self.story_id}:{self.event.article.id}"


@dataclass(frozen=True, slots=True)
class AlertDecision:
    kind: AlertKind
    urgent: bool


def _report_wanted(rule: SubscriptionRule, event: Event) -> bool:
    """The report passes the subscriber's topic, language and keyword filters."""
    detection = event.detection
    if rule.topics and not rule.topics & set(detection.topics):
        return False
    if rule.languages and detection.lang not in rule.languages:
        return False
    if rule.keywords:
        text = event.article.text.casefold()
        if not any(k.casefold() in text for k in rule.keywords):
            return False
    return True


def decide_alert(rule: SubscriptionRule, story_event: StoryEvent) -> AlertDecision | None:
    """Whether this subscriber is alerted about this story event, and how (None = not alerted)."""
    detection = story_event.event.detection
    if not _report_wanted(rule, story_event.event):
        return None
    wanted = [k for k in _PRIORITY if k in story_event.additions.kinds and k in rule.kinds]
    if not wanted:
        return None
    kind = wanted[0]
    figures = story_event.additions.new_figures if kind == AlertKind.NEW_FIGURE else detection.troops
    if rule.min_figure is not None and not any(m.high >= rule.min_figure for m in figures):
        return None
    urgent = rule.urgent_figure is not None and any(
        m.high >= rule.urgent_figure for m in story_event.additions.new_figures
    )
    return AlertDecision(kind, urgent)


def alert_payload(story_event: StoryEvent, kind: AlertKind) -> AlertPayload:
    """The alert's content: story, what is new (figures with quotes, outlets), links, topics, languages."""
    article = story_event.event.article
    detection = story_event.event.detection
    adds = story_event.additions
    return {
        "kind": kind,
        "story": {
            "id": story_event.story_id,
            "title": story_event.story_title,
            "topics": story_event.story_topics,
            "sources": story_event.story_sources,
            "languages": story_event.story_languages,
        },
        "article": {
            "id": article.id,
            "title": article.title,
            "link": article.link,
            "source": article.source,
            "language": detection.lang,
            "published": article.published.isoformat() if article.published else None,
        },
        "topics": detection.topics,
        "new": {
            "figures": [m.to_json() for m in adds.new_figures],
            "source": article.source if adds.new_source else None,
            "language": detection.lang if adds.new_language else None,
        },
        "figures": [m.to_json() for m in detection.troops],
    }


def decide_figure_alert(rule: SubscriptionRule, change: FigureChange, story_event: StoryEvent) -> AlertDecision | None:
    """Whether this subscriber is alerted that the report of `story_event` changed a series' figure.

    The report's topics, languages and keywords filter as for every kind; `min_figure` and
    `urgent_figure` read the larger of the two figures (a fall from 80,000 to 500 matters to whoever
    follows figures of 10,000 or more)."""
    if AlertKind.FIGURE_CHANGED not in rule.kinds or not _report_wanted(rule, story_event.event):
        return None
    largest = max(change.previous.figure.high, change.current.figure.high)
    if rule.min_figure is not None and largest < rule.min_figure:
        return None
    return AlertDecision(AlertKind.FIGURE_CHANGED, rule.urgent_figure is not None and largest >= rule.urgent_figure)


def _series_point(point: FigurePoint) -> AlertSeriesPoint:
    return {
        "figure": point.figure.to_json(),
        "article_id": point.article_id,
        "source": point.source,
        "title": point.title,
        "link": point.link,
        "published": point.published.isoformat(),
    }


def figure_alert_payload(change: FigureChange, story_event: StoryEvent) -> AlertPayload:
    """A figure_changed alert: the report's story and article as every alert has, the series, its
    previous figure with its source and date, and the new one with its quote."""
    payload = alert_payload(story_event, AlertKind.FIGURE_CHANGED)
    key = change.key
    payload["series"] = {
        "id": change.series_id,
        "actor": key.actor,
        "place": key.place,
        "place_name": change.place_name,
        "unit_class": key.unit_class,
        "kind": key.kind,
        "label": change.label,
    }
    payload["previous"] = _series_point(change.previous)
    payload["current"] = _series_point(change.current)
    return payload


def decide_spike_alert(rule: SubscriptionRule, spike: RecordedSpike) -> bool:
    """Whether this subscriber hears of this spike: it asked for spikes, its topics (if any) hold the
    spike's, and the spike is of its languages (a language spike) or of all (no language filter).
    Keywords and figures filter reports, not volumes: a subscriber who follows only words or large
    figures, on no topic in particular, does not hear of every topic's spikes."""
    s = spike.spike
    if AlertKind.SPIKE not in rule.kinds or (rule.topics and s.topic not in rule.topics):
        return False
    if not rule.topics and (rule.keywords or rule.min_figure is not None):
        return False
    return s.language in rule.languages if s.language else not rule.languages


def spike_payload(story_event: StoryEvent, spike: RecordedSpike) -> AlertPayload:
    """A spike alert: the report that crossed the threshold (its story, its article) and the spike."""
    payload = alert_payload(story_event, AlertKind.SPIKE)
    payload["new"] = {"figures": [], "source": None, "language": None}
    s = spike.spike
    payload["spike"] = {
        "topic": s.topic,
        "language": s.language,
        "count": s.count,
        "window_start": s.window_start.isoformat(),
        "window_end": s.window_end.isoformat(),
        "baseline": round(s.mean, 3),
        "sd": round(s.sd, 3),
        "p_value": s.p_value,
    }
    return payload


def spike_line(p: AlertPayload) -> str:
    """'greenland: 42 reports in the hour from 2026-11-20 14:00 UTC, usual 3 ± 2' of a spike alert."""
    s = p["spike"]
    return describe(s["topic"], s["language"], s["count"], parse_time(s["window_start"]), s["baseline"], s["sd"])


def _figure(m: dict[str, Any]) -> str:
    return TroopMention.from_json(m).label()


_WHAT = {
    AlertKind.NEW_STORY: "New story",
    AlertKind.NEW_REPORT: "New report",
    AlertKind.NEW_FIGURE: "New figure",
    AlertKind.FIGURE_CHANGED: "Figure changed",
    AlertKind.SPIKE: "Spike",
}


def _change_lines(p: AlertPayload) -> list[str]:
    """A figure_changed alert's text: the series, then the previous and the new figure with quote and source."""
    previous, current = p["previous"], p["current"]
    lines = [f"Figure changed [{', '.join(p['topics'])}] {p['series']['label']}: {_change(p)}"]
    for word, point in (("was", previous), ("now", current)):
        when = (point["published"] or "")[:10]
        lines.append(f"  {word}: {_figure(point['figure'])} — “{point['figure']['quote']}” ({point['source']}, {when})")
        if point["link"]:
            lines.append(f"       {point['link']}")
    return lines


def _change(p: AlertPayload) -> str:
    return f"{_figure(p['previous']['figure'])} → {_figure(p['current']['figure'])}"


def render_text(payloads: Sequence[AlertPayload]) -> tuple[str, str]:
    """(subject, plain-text body) of one alert or a digest of several."""
    lines = []
    for p in payloads:
        if p["kind"] == AlertKind.FIGURE_CHANGED:
            lines += [*_change_lines(p), ""]
            continue
        what = _WHAT[AlertKind(p["kind"])]
        if "spike" in p:
            lines.append(f"{what}: {spike_line(p)}")
            lines.append(f"  crossed by [{', '.join(p['topics'])}] {p['story']['title']}")
        else:
            lines.append(f"{what} [{', '.join(p['topics'])}] {p['story']['title']}")
        lines.append(f"  {p['article']['source']} ({p['article']['language'] or '?'}): {p['article']['title']}")
        for m in p["new"]["figures"]:
            lines.append(f"  + {_figure(m)} — “{m['quote']}”")
        if p["new"]["source"] and p["kind"] != AlertKind.NEW_STORY:
            lines.append(f"  + new outlet: {p['new']['source']}")
        if p["article"]["link"]:
            lines.append(f"  {p['article']['link']}")
        lines.append("")
    first = payloads[0]
    subject = (
        f"[newsvigil] {len(payloads)} updates"
        if len(payloads) > 1
        else f"[newsvigil] figure changed: {first['series']['label']}: {_change(first)}"
        if first["kind"] == AlertKind.FIGURE_CHANGED
        else f"[newsvigil] spike: {spike_line(first)}"
        if "spike" in first
        else f"[newsvigil] {first['kind'].replace('_', ' ')}: {first['story']['title']}"
    )
    return subject[:200], "\n".join(lines).rstrip() + "\n"


def render_html(payloads: Sequence[AlertPayload]) -> str:
    """HTML body; every piece of feed text is escaped, links are sanitised with nh3."""
    parts = ["<html><body>"]
    for p in payloads:
        if p["kind"] == AlertKind.FIGURE_CHANGED:
            parts += _change_html(p)
            continue
        if "spike" in p:
            parts.append(f"<h3>spike: {html.escape(spike_line(p))}</h3>")
            parts.append(f"<p>The report that crossed the threshold, in: {html.escape(p['story']['title'])}</p>")
        else:
            parts.append(f"<h3>{html.escape(p['kind'].replace('_', ' '))}: {html.escape(p['story']['title'])}</h3>")
        parts.append(f"<p><b>{html.escape(p['article']['source'])}</b>: {html.escape(p['article']['title'])}</p><ul>")
        for m in p["new"]["figures"]:
            parts.append(f"<li>{html.escape(_figure(m))} — <q>{html.escape(m['quote'])}</q></li>")
        parts.append("</ul>")
        if p["article"]["link"]:
            parts.append(
                nh3.clean(f'<p><a href="{html.escape(p["article"]["link"], quote=True)}">Read the report</a></p>')
            )
    parts.append("</body></html>")
    return "".join(parts)


def _change_html(p: AlertPayload) -> list[str]:
    """A figure_changed alert in HTML: every piece of feed text escaped, links sanitised with nh3."""
    parts = [
        f"<h3>figure changed: {html.escape(p['series']['label'])}: {html.escape(_change(p))}</h3>",
        f"<p>{html.escape(', '.join(p['topics']))} — {html.escape(p['story']['title'])}</p><ul>",
    ]
    for word, point in (("was", p["previous"]), ("now", p["current"])):
        source = html.escape(f"{point['source']}, {(point['published'] or '')[:10]}")
        item = (
            f"<li>{word}: {html.escape(_figure(point['figure']))} — <q>{html.escape(point['figure']['quote'])}</q>"
            f" ({source})"
        )
        if point["link"]:
            item += f' <a href="{html.escape(point["link"], quote=True)}">report</a>'
        parts.append(nh3.clean(item + "</li>", tags={"li", "q", "a"}))
    parts.append("</ul>")
    return parts
