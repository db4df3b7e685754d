"""Figure series: the key a figure joins and the tolerance that tells a changed figure from a restated one."""

from __future__ import annotations

import pytest

from newsvigil.processors.series import (
    LEVEL,
    MOVEMENT,
    SeriesKey,
    figure_change,
    same_figure,
    series_figures,
    series_key,
    unit_class,
)
from newsvigil.records import TroopMention


def figure(
    value: float,
    high: float | None = None,
    *,
    approx: bool = False,
    unit: str = "troops",
    actor: str | None = "US",
    place: str | None = "europe",
    action: str | None = None,
    start: int = 0,
) -> TroopMention:
    return TroopMention(
        value=value,
        low=value,
        high=value if high is None else high,
        approx=approx,
        unit=unit,
        quote=f"{value:,.0f} {unit}",
        start=start,
        end=start + 10,
        actor=actor,
        action=action,
        place=place,
        place_name=place.title() if place else None,
    )


@pytest.mark.parametrize(
    ("previous", "new"),
    [
        (figure(80_000, approx=True), figure(80_500)),  # "about 80,000" vs "80,500": the example
        (figure(80_500), figure(80_000, approx=True)),  # either order
        (figure(80_000), figure(80_000, approx=True)),
        (figure(80_000), figure(80_500)),  # a round number is rounded
        (figure(80_000, approx=True), figure(75_000, approx=True)),
        (figure(3_000, 5_000), figure(4_000)),  # within the range
        (figure(3_000, 5_000), figure(5_200)),  # past its end by less than a round number allows
        (figure(1_200, approx=True), figure(1_300)),
    ],
)
def test_approximations_and_restatements_are_the_same_figure(previous, new):
    assert same_figure(previous, new)
    assert not figure_change(previous, new)


@pytest.mark.parametrize(
    ("previous", "new"),
    [
        (figure(80_000), figure(65_000)),
        (figure(80_000, approx=True), figure(65_000, approx=True)),
        (figure(80_000, approx=True), figure(70_000, approx=True)),  # neither falls in the other's "about"
        (figure(80_500), figure(80_900)),  # exact figures: any difference is a change
        (figure(3_000, 5_000), figure(6_000)),
        (figure(100), figure(150)),  # a small round number is not a wide one
        (figure(750), figure(1_000)),
    ],
)
def test_a_real_change_is_a_change(previous, new):
    assert not same_figure(previous, new)
    assert figure_change(previous, new)


def test_overlapping_ranges_are_the_same_and_disjoint_ones_are_not():
    assert same_figure(figure(3_000, 5_000), figure(4_500, 6_000))
    assert not same_figure(figure(3_000, 5_000), figure(6_500, 8_000))


def test_the_first_figure_of_a_series_is_no_change():
    assert not figure_change(None, figure(80_000))


@pytest.mark.parametrize(
    ("unit", "cls"),
    [
        ("troops", "troops"),
        ("Troops", "troops"),
        ("soldiers", "troops"),
        ("militaires", "troops"),
        ("Soldaten", "troops"),
        ("US-Soldaten", "troops"),
        ("soldater", "troops"),
        ("żołnierzy", "troops"),
        ("military personnel", "troops"),
        ("brigade", "troops"),
        ("officers", "officers"),
        ("officiers", "officers"),
        ("Offiziere", "officers"),
        ("officerer", "officers"),
        ("officieren", "officers"),
        ("oficiales", "officers"),
        ("ufficiali", "officers"),
        ("oficerów", "officers"),
        ("personnel", "personnel"),
        ("marines", "marines"),
        ("sailors", "sailors"),
        ("instructors", None),
    ],
)
def test_unit_classes_from_the_seeds(rules, unit, cls):
    assert unit_class(unit, rules.troops.unit_classes) == cls


def key(m: TroopMention, rules, text: str = "") -> SeriesKey | None:
    return series_key(m, text, rules.troops.unit_classes, rules.troops.incidents)


def test_officers_and_troops_are_separate_series(rules):
    troops, officers = key(figure(80_000), rules), key(figure(400, unit="officers"), rules)
    assert troops == SeriesKey("US", "europe", "troops", LEVEL)
    assert officers == SeriesKey("US", "europe", "officers", LEVEL)
    assert troops != officers


def test_levels_and_movements_are_separate_series(rules):
    assert key(figure(80_000, action="stationed"), rules) == SeriesKey("US", "europe", "troops", LEVEL)
    moved = key(figure(3_000, action="withdrawal"), rules)
    assert moved == SeriesKey("US", "europe", "troops", MOVEMENT)
    assert key(figure(3_000, action="deployment"), rules) == moved
    assert moved.label("Europe") == "US · Europe · troops moved"
    assert SeriesKey("US", "europe", "troops").label("Europe") == "US · Europe · troops"


def test_a_figure_without_actor_place_or_unit_class_joins_no_series(rules):
    assert key(figure(80_000, actor=None), rules) is None
    assert key(figure(80_000, place=None), rules) is None
    assert key(figure(80, unit="instructors"), rules) is None


def test_an_incident_count_joins_no_series(rules):
    text = "Five US service members killed in Syria. About 900 US troops are in Syria."
    killed = figure(5, unit="service members", place="syria")
    killed.start, killed.end = 0, len("Five US service members")
    level = figure(900, unit="troops", place="syria", approx=True)
    level.start = text.index("About")
    level.end = text.index(" are")
    assert key(killed, rules, text) is None
    assert key(level, rules, text) == SeriesKey("US", "syria", "troops", LEVEL)  # the next sentence is not read


def test_a_report_gives_each_series_its_first_figure(rules):
    text = "US to keep 80,000 troops in Europe, not 65,000 troops, and withdraw 3,000 troops"
    first, second = figure(80_000, start=11), figure(65_000, start=40)
    moved = figure(3_000, start=68, action="withdrawal")
    found = series_figures([second, moved, first], text, rules.troops.unit_classes, rules.troops.incidents)
    assert found == {
        SeriesKey("US", "europe", "troops", LEVEL): first,
        SeriesKey("US", "europe", "troops", MOVEMENT): moved,
    }


def change_and_event(quote: str = "65,000 US troops", outlet: str = "Atlantic Desk"):
    from datetime import UTC, datetime

    from newsvigil.processors.alerts import StoryEvent
    from newsvigil.processors.series import FigureChange, FigurePoint
    from newsvigil.processors.stories import Additions
    from newsvigil.records import Article, Detection, Event

    before, now = figure(80_000, approx=True), figure(65_000)
    now.quote = quote
    article = Article("a2", "https://x.example/rss", outlet, f"Pentagon: {quote}", "", link="javascript:alert(1)")
    event = Event(article, Detection("a2", "en", ["nato"], [now], "test"))
    story_event = StoryEvent(7, "Pentagon", ["nato"], [outlet], ["en"], event, Additions(False, [], False, False))
    change = FigureChange(
        3,
        SeriesKey("US", "europe", "troops"),
        "Europe",
        FigurePoint(1, "a1", datetime(2026, 10, 15, tzinfo=UTC), before, "Harbour Post", "https://h.example/1", "T"),
        FigurePoint(2, "a2", datetime(2026, 11, 2, tzinfo=UTC), now, outlet, article.link, article.title),
    )
    return change, story_event


def test_a_figure_alert_says_both_figures_with_quotes_and_sources():
    from newsvigil.processors.alerts import figure_alert_payload, render_html, render_text

    change, story_event = change_and_event()
    payload = figure_alert_payload(change, story_event)
    assert change.event_key == "series:3:a2"
    assert payload["kind"] == "figure_changed" and payload["story"]["id"] == 7 and payload["article"]["id"] == "a2"
    assert payload["series"]["label"] == "US · Europe · troops"
    assert payload["previous"]["figure"]["value"] == 80_000 and payload["previous"]["source"] == "Harbour Post"
    assert payload["current"]["figure"]["quote"] == "65,000 US troops"
    subject, body = render_text([payload])
    assert subject == "[newsvigil] figure changed: US · Europe · troops: ~80,000 troops → 65,000 troops"
    assert "was: ~80,000 troops — “80,000 troops” (Harbour Post, 2026-10-15)" in body
    assert "now: 65,000 troops — “65,000 US troops” (Atlantic Desk, 2026-11-02)" in body
    assert "65,000 US troops" in render_html([payload])


def test_a_figure_alert_escapes_feed_text_in_html():
    from newsvigil.processors.alerts import figure_alert_payload, render_html

    change, story_event = change_and_event('<img src=x onerror="alert(1)"> 65,000 troops', "<b>Evil</b>")
    html = render_html([figure_alert_payload(change, story_event)])
    assert "<img" not in html and "<b>Evil" not in html and "javascript:" not in html
    assert "&lt;img" in html and "&lt;b&gt;Evil" in html and 'href="https://h.example/1"' in html


def test_figure_alert_filters():
    from newsvigil.processors.alerts import SubscriptionRule, decide_figure_alert
    from newsvigil.records import AlertKind

    change, story_event = change_and_event()
    wants = frozenset({AlertKind.FIGURE_CHANGED})
    assert decide_figure_alert(SubscriptionRule(1, kinds=wants), change, story_event) is not None
    assert decide_figure_alert(SubscriptionRule(1), change, story_event) is not None  # every kind
    assert (
        decide_figure_alert(SubscriptionRule(1, kinds=frozenset({AlertKind.NEW_FIGURE})), change, story_event) is None
    )
    assert (
        decide_figure_alert(SubscriptionRule(1, kinds=wants, topics=frozenset({"arctic"})), change, story_event) is None
    )
    assert (
        decide_figure_alert(SubscriptionRule(1, kinds=wants, languages=frozenset({"fr"})), change, story_event) is None
    )
    assert decide_figure_alert(SubscriptionRule(1, kinds=wants, keywords=("Greenland",)), change, story_event) is None
    assert decide_figure_alert(SubscriptionRule(1, kinds=wants, min_figure=70_000), change, story_event) is not None
    assert decide_figure_alert(SubscriptionRule(1, kinds=wants, min_figure=90_000), change, story_event) is None
    urgent = decide_figure_alert(SubscriptionRule(1, kinds=wants, urgent_figure=50_000), change, story_event)
    assert urgent is not None and urgent.urgent
