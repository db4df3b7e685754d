"""Series points recorded by the pipeline, and figure_changed alerts, on SQLite and PostgreSQL.

Detections are built here (with places), and stored through ArticleProcessor.store, the path replay
and the worker take after detection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select

from newsvigil.processors.pipeline import ArticleProcessor
from newsvigil.processors.subscriptions import create_subscription
from newsvigil.records import AlertPolicy, Article, Detection, TroopMention
from newsvigil.storage.models import AlertRow, SeriesPoint, SeriesRow
from newsvigil.storage.series import SeriesFilters, series_detail, series_list

START = datetime(2026, 11, 1, 8, tzinfo=UTC)


def report(
    n: int,
    figure_text: str,
    value: float,
    *,
    approx: bool = False,
    days: float = 0,
    unit: str = "troops",
    action: str | None = None,
    topics: tuple[str, ...] = ("nato",),
    source: str = "Outlet",
) -> tuple[Article, Detection]:
    title = f"Pentagon: {figure_text} in Europe"
    article = Article(
        id=f"s{n}",
        feed_url="https://outlet.example/rss",
        source=f"{source} {n}",
        title=title,
        summary="Officials in Brussels said so on Tuesday.",
        link=f"https://outlet.example/{n}",
        published=START + timedelta(days=days),
        language="en",
    )
    start = title.index(figure_text)
    mention = TroopMention(
        value=value,
        low=value,
        high=value,
        approx=approx,
        unit=unit,
        quote=figure_text,
        start=start,
        end=start + len(figure_text),
        actor="US",
        action=action,
        place="europe",
        place_name="Europe",
    )
    return article, Detection(article.id, "en", list(topics), [mention], "test")


def alerts(sessions) -> list[AlertRow]:
    with sessions() as s:
        return list(s.scalars(select(AlertRow).order_by(AlertRow.id)))


def points(sessions) -> list[SeriesPoint]:
    with sessions() as s:
        return list(s.scalars(select(SeriesPoint).order_by(SeriesPoint.published)))


def subscribe(sessions, kinds: str = "figure_changed", **fields) -> int:
    with sessions.begin() as s:
        return create_subscription(s, name="desk", channel="atom", kinds=kinds, **fields).id


def test_a_changed_figure_alerts_once_and_an_approximation_does_not(sessions, rules):
    desk = subscribe(sessions)
    other = subscribe(sessions, kinds="new_story,new_report,new_figure")
    processor = ArticleProcessor(rules, sessions)
    processor.store([report(1, "80,000 US troops", 80_000)])
    processor.store([report(2, "about 80,000 US troops", 80_000, approx=True, days=10)])
    assert [a.kind for a in alerts(sessions) if a.subscription_id == desk] == []
    processor.store([report(3, "65,000 US troops", 65_000, days=20)])

    stored = points(sessions)
    assert [(p.value, p.changed, p.newest) for p in stored] == [
        (80_000, False, True),
        (80_000, False, True),
        (65_000, True, True),
    ]
    assert stored[2].previous_id == stored[1].id and stored[1].previous_id == stored[0].id
    [alert] = [a for a in alerts(sessions) if a.kind == "figure_changed"]
    assert alert.subscription_id == desk and alert.event_key.startswith("series:") and alert.article_id == "s3"
    payload = json.loads(alert.payload)
    assert payload["series"]["label"] == "US · Europe · troops"
    assert (payload["series"]["actor"], payload["series"]["place"], payload["series"]["kind"]) == (
        "US",
        "europe",
        "level",
    )
    assert payload["previous"]["figure"]["quote"] == "about 80,000 US troops"
    assert payload["previous"]["source"] == "Outlet 2" and payload["previous"]["published"].startswith("2026-11-11")
    assert payload["current"]["figure"]["quote"] == "65,000 US troops"
    assert payload["current"]["source"] == "Outlet 3" and payload["current"]["link"] == "https://outlet.example/3"
    assert payload["story"]["id"] == alert.story_id and payload["article"]["id"] == "s3"
    assert not [a for a in alerts(sessions) if a.subscription_id == other and a.kind == "figure_changed"]

    # Stored again, with history alerted: no point twice, no alert twice.
    assert processor.store([report(1, "80,000 US troops", 80_000)]).alerts == 0
    processor.store(
        [
            report(3, "65,000 US troops", 65_000, days=20),
            report(2, "about 80,000 US troops", 80_000, approx=True, days=10),
        ],
        alerts=AlertPolicy.ALL,
    )
    assert len(points(sessions)) == 3
    assert len([a for a in alerts(sessions) if a.kind == "figure_changed"]) == 1


def test_a_late_report_of_an_older_figure_is_recorded_but_not_news(sessions, rules):
    subscribe(sessions)
    processor = ArticleProcessor(rules, sessions)
    processor.store([report(1, "80,000 US troops", 80_000), report(2, "81,000 US troops", 81_000, days=20)])
    processor.store([report(3, "70,000 US troops", 70_000, days=10)])  # published between the two
    [late] = [p for p in points(sessions) if p.article_id == "s3"]
    assert late.changed and not late.newest
    assert [p.article_id for p in points(sessions) if p.id == late.previous_id] == ["s1"]
    assert [a for a in alerts(sessions) if a.kind == "figure_changed"] == []
    processor.store([report(4, "65,000 US troops", 65_000, days=30)])  # compared with the newest, 81,000
    [alert] = [a for a in alerts(sessions) if a.kind == "figure_changed"]
    assert json.loads(alert.payload)["previous"]["article_id"] == "s2"


def test_series_are_kept_apart_and_points_follow_their_articles(sessions, rules):
    processor = ArticleProcessor(rules, sessions)
    processor.store(
        [
            report(1, "80,000 US troops", 80_000),
            report(2, "400 US officers", 400, unit="officers", days=1),
            report(3, "withdraw 3,000 troops", 3_000, action="withdrawal", days=2),
            report(4, "90,000 US troops", 90_000, topics=(), days=3),  # on no topic: in its series all the same
        ]
    )
    with sessions() as s:
        keys = sorted((r.unit_class, r.kind) for r in s.scalars(select(SeriesRow)))
    assert keys == [("officers", "level"), ("troops", "level"), ("troops", "movement")]
    assert sorted(p.article_id for p in points(sessions)) == ["s1", "s2", "s3", "s4"]

    # Read again with another figure: the point is updated in place (same id, no change recorded).
    before = {p.article_id: p.id for p in points(sessions)}
    processor.store([report(1, "82,000 US troops", 82_000)])
    after = {p.article_id: (p.id, p.value, p.changed) for p in points(sessions)}
    assert after["s1"] == (before["s1"], 82_000, False)
    # A figure no longer read: out of its series.
    for n, args, unit, action in (
        (2, ("400 US officers", 400), "officers", None),
        (3, ("withdraw", 3_000), "troops", "withdrawal"),
        (4, ("90,000 US troops", 90_000), "troops", None),
    ):
        article, detection = report(n, *args, unit=unit, action=action, days=n - 1)
        detection.troops = []
        processor.store([(article, detection)])
    assert [p.article_id for p in points(sessions)] == ["s1"]

    with sessions() as s:
        listed = series_list(s, SeriesFilters())
        assert [(x["unit_class"], x["kind"], x["points"]) for x in listed if x["points"]] == [("troops", "level", 1)]
        [troops] = listed
        assert troops["latest"]["figure"]["value"] == 82_000 and troops["last_report"].startswith("2026-11-01")
        assert series_list(s, SeriesFilters(unit_class="officers")) == []
        assert series_list(s, SeriesFilters(topic="nato")) == listed and series_list(s, SeriesFilters(topic="x")) == []
        detail = series_detail(s, troops["id"])
        assert detail is not None
        [point] = detail["points"]
        assert point["figure"]["quote"] == "82,000 US troops" and point["outlet"] == "Outlet 1"
        assert point["mention_id"] is not None  # the article page's quote anchor
        assert series_detail(s, 10_000) is None
        assert s.scalar(select(func.count()).select_from(SeriesRow)) == 3  # series stay; their points went


def test_min_figure_and_topics_filter_figure_alerts(sessions, rules):
    big = subscribe(sessions, min_figure=50_000)
    small = subscribe(sessions, min_figure=100_000)
    elsewhere = subscribe(sessions, topics="greenland")
    processor = ArticleProcessor(rules, sessions)
    processor.store([report(1, "80,000 US troops", 80_000), report(2, "500 US troops", 500, days=5)])
    assert [a.subscription_id for a in alerts(sessions) if a.kind == "figure_changed"] == [big]
    assert small and elsewhere


def many_series_report(name: str, places: list[str], value: float, days: float) -> tuple[Article, Detection]:
    """A report giving a figure for US troops in each of `places`: one series each."""
    figure_text = f"{value:,.0f} US troops"
    article = Article(
        id=name,
        feed_url="https://outlet.example/rss",
        source="Outlet",
        title=f"Pentagon: troop levels in {len(places)} places",
        summary=" ".join(f"{figure_text} in {place}." for place in places),
        link=f"https://outlet.example/{name}",
        published=START + timedelta(days=days),
        language="en",
    )
    text, mentions, start = article.text, [], 0
    for place in places:
        start = text.index(figure_text, start)
        end = start + len(figure_text)
        mention = TroopMention(value, value, value, False, "troops", figure_text, start, end, "US", None, place, place)
        mentions.append(mention)
        start = end
    return article, Detection(article.id, "en", ["nato"], mentions, "test")


@contextmanager
def counting(engine) -> Iterator[list[str]]:
    """The statements run on `engine` inside the block."""
    counted: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        counted.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_series_take_as_many_statements_for_many_series_as_for_few(sessions, rules):
    """The series' stored points are loaded for the whole batch (or list), not per series or per late point."""
    subscribe(sessions)
    processor = ArticleProcessor(rules, sessions)
    engine = sessions.kw["bind"]

    def statements(places: list[str], days: float) -> tuple[int, int]:
        """Statements to record a batch with, in each place's series, a newer and a late report (from
        `days` on: the runs' stories are kept apart), and the alerts it raised."""
        prefix = places[0]
        processor.store(
            [
                many_series_report(f"{prefix}-first", places, 80_000, days=days),
                many_series_report(f"{prefix}-old", places, 81_000, days=days + 10),
            ]
        )
        with counting(engine) as counted:
            result = processor.store(
                [
                    many_series_report(f"{prefix}-new", places, 65_000, days=days + 20),  # the newest: a change
                    many_series_report(f"{prefix}-late", places, 70_000, days=days + 5),  # between the stored ones
                ]
            )
        return len(counted), result.alerts

    few = statements([f"few{n}" for n in range(2)], days=0)
    many = statements([f"many{n}" for n in range(40)], days=100)
    assert few[0] == many[0]
    assert (few[1], many[1]) == (2, 40)  # one figure_changed per series
    with sessions() as s:
        first = {
            p.series_id: p.id for p in s.scalars(select(SeriesPoint).where(SeriesPoint.article_id == "many0-first"))
        }
        late = s.scalars(select(SeriesPoint).where(SeriesPoint.article_id == "many0-late")).all()
        assert len(late) == 40 and all(p.changed and not p.newest for p in late)
        assert {p.series_id: p.previous_id for p in late} == first  # compared with the stored point before it

        with counting(engine) as listing_few:
            few_series = series_list(s, SeriesFilters(), limit=2)
        with counting(engine) as listing_many:
            many_series = series_list(s, SeriesFilters(), limit=42)
    assert (len(few_series), len(many_series), len(listing_few)) == (2, 42, len(listing_many))
    assert all(x["latest"]["figure"]["value"] == 65_000 for x in many_series)
