"""Figure series on the real-news corpus (skipped when its text was not rebuilt): every point is a figure
of its article in its series, every recorded change is a change by the tolerance rule, and the series
pages and API serve every series. The numbers are printed by bench/series.py."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from newsvigil.processors.pipeline import ArticleProcessor
from newsvigil.processors.series import SeriesKey, same_figure, series_key
from newsvigil.records import Article, parse_time
from newsvigil.storage.database import make_engine, session_factory
from newsvigil.storage.mapping import article_of
from newsvigil.storage.migrate import upgrade
from newsvigil.storage.models import ArticleRow, SeriesPoint, SeriesRow
from newsvigil.storage.series import point_figure
from tests.support import REPO_ROOT
from tests.web.test_api import client_for

TEXT = REPO_ROOT / "tests" / "processors" / "corpus" / "real" / "text.jsonl"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not TEXT.exists(), reason="the real corpus's text is not rebuilt (see its rebuild.py)"),
]


def corpus() -> list[Article]:
    items = [json.loads(line) for line in TEXT.read_text(encoding="utf-8").splitlines()]
    articles = [
        Article(
            id=i["id"],
            feed_url=i["source"],
            source=i["source"],
            title=i["title"],
            summary=i["summary"],
            published=parse_time(i["published"]),
            language=i.get("language"),
        )
        for i in items
    ]
    return sorted(articles, key=lambda a: (a.when, a.id))


def test_series_of_the_real_corpus(sqlite_url, rules):
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    sessions = session_factory(engine)
    processor = ArticleProcessor(rules, sessions)
    articles = corpus()
    for start in range(0, len(articles), 500):
        processor.process(articles[start : start + 500])
    troops = rules.troops
    with sessions() as s:
        series = {row.id: row for row in s.scalars(select(SeriesRow))}
        points = {p.id: p for p in s.scalars(select(SeriesPoint))}
        texts = {a.id: article_of(a).text for a in s.scalars(select(ArticleRow))}
        assert sum(1 for row in series.values() if sum(p.series_id == row.id for p in points.values()) >= 2) >= 3
        for point in points.values():
            row = series[point.series_id]
            figure = point_figure(point, row)
            assert texts[point.article_id][point.start : point.end] == point.quote
            key = series_key(figure, texts[point.article_id], troops.unit_classes, troops.incidents)
            assert key == SeriesKey(row.actor, row.place, row.unit_class, row.kind)
            if point.previous_id is not None:
                previous = point_figure(points[point.previous_id], row)
                assert point.changed == (not same_figure(previous, figure))
                assert parse_time(points[point.previous_id].published) <= parse_time(point.published)
        assert any(p.changed for p in points.values())
    engine.dispose()

    with client_for(sqlite_url) as api:
        listed = api.get("/api/series", params={"limit": 1000}).json()
        assert sorted(s["id"] for s in listed) == sorted(series)
        assert api.get("/series").status_code == 200
        for s in listed:
            detail = api.get(f"/api/series/{s['id']}").json()
            assert len(detail["points"]) == s["points"]
            assert api.get(f"/series/{s['id']}").status_code == 200
