"""The series pages and /api/series on the replayed samples, with a series of our own (one hostile
outlet among its reports), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsvigil.processors.pipeline import ArticleProcessor
from newsvigil.records import Article, Detection, TroopMention
from newsvigil.storage.database import make_engine, session_factory
from tests.web.test_api import client_for, new_token

FIGURES = [
    ("Nato Watch", "80,000 US troops", 80_000, False),
    ("<script>alert('outlet')</script>", "about 80,000 US troops <b>now</b>", 80_000, True),
    ("Defence Daily", "65,000 US troops", 65_000, False),
]


def store_series(database_url: str, rules) -> None:
    """Three reports of US · Europe · troops (80,000, about 80,000, 65,000), built with their places."""
    engine = make_engine(database_url)
    try:
        detected = []
        for n, (outlet, quote, value, approx) in enumerate(FIGURES, 1):
            title = f"Pentagon: {quote} stay in Europe"
            article = Article(
                id=f"series-{n}",
                feed_url="https://outlet.example/rss",
                source=outlet,
                title=title,
                summary="Officials in Brussels said so.",
                link="javascript:alert(4)" if n == 2 else f"https://outlet.example/{n}",
                published=datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=10 * n),
                language="en",
            )
            start = title.index(quote)
            mention = TroopMention(
                value, value, value, approx, "troops", quote, start, start + len(quote), "US", None, "europe", "Europe"
            )
            detected.append((article, Detection(article.id, "en", ["nato"], [mention], "test")))
        ArticleProcessor(rules, session_factory(engine)).store(detected)
    finally:
        engine.dispose()


def ours(api) -> dict:
    [series] = [s for s in api.get("/api/series").json() if s["label"] == "US · Europe · troops"]
    return series


def test_series_list_and_points_in_the_api(replayed, rules):
    store_series(replayed, rules)
    with client_for(replayed) as api:
        series = ours(api)
        assert (series["actor"], series["place"], series["unit_class"], series["kind"]) == (
            "US",
            "europe",
            "troops",
            "level",
        )
        assert (series["points"], series["changes"]) == (3, 1)
        assert series["latest"]["figure"]["quote"] == "65,000 US troops"
        assert series["last_report"].startswith("2026-10-31")
        filtered = api.get("/api/series", params={"actor": "US", "place": "europe"}).json()
        assert series in filtered and all((s["actor"], s["place"]) == ("US", "europe") for s in filtered)
        assert series["id"] in [s["id"] for s in api.get("/api/series", params={"topic": "nato"}).json()]
        assert series["id"] not in [s["id"] for s in api.get("/api/series", params={"unit_class": "officers"}).json()]
        assert api.get("/api/series", params={"actor": "Nobody"}).json() == []
        bad = api.get("/api/series", params={"kind": "sideways"})
        assert bad.status_code == 422 and "kind" in bad.json()["detail"]

        detail = api.get(f"/api/series/{series['id']}").json()
        assert detail["label"] == "US · Europe · troops"
        points = detail["points"]
        assert [p["figure"]["value"] for p in points] == [80_000, 80_000, 65_000]
        assert [p["changed"] for p in points] == [False, False, True]
        assert points[2]["previous_id"] == points[1]["id"]
        assert [p["outlet"] for p in points] == [f[0] for f in FIGURES]
        assert all(p["mention_id"] is not None and p["article_id"].startswith("series-") for p in points)
        assert api.get("/api/series/999999").status_code == 404
        assert api.get("/api/series/0").status_code == 422


def test_series_pages_link_each_point_to_its_quote_and_escape_feed_text(replayed, rules):
    store_series(replayed, rules)
    with client_for(replayed) as api:
        series = ours(api)
        listing = api.get("/series")
        assert listing.status_code == 200
        assert f'<a href="/series/{series["id"]}">US · Europe · troops</a>' in listing.text
        page = api.get(f"/series/{series['id']}")
        assert page.status_code == 200
        html = page.text
        points = api.get(f"/api/series/{series['id']}").json()["points"]
        for p in points:  # in the plot and in the table: the article page's quote anchor
            assert html.count(f'href="/articles/{p["article_id"]}#m{p["mention_id"]}"') == 2
        assert "<svg" in html and 'class="figure changed"' in html
        assert "<script" not in html and "<b>now</b>" not in html and "javascript:" not in html
        assert "&lt;script&gt;" in html and "Defence Daily" in html
        assert api.get("/series/999999").status_code == 404
        assert '<a href="/series">Series</a>' in api.get("/").text  # the nav link


def test_private_dashboard_series_need_a_token(replayed):
    _, token = new_token(replayed)
    with client_for(replayed, public_dashboard=False) as api:
        assert api.get("/api/series").status_code == 401
        assert api.get("/api/series", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        page = api.get("/series", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_series_of_the_sample_archive(replayed):
    with client_for(replayed) as api:
        listed = {s["label"]: s for s in api.get("/api/series").json()}
        assert set(listed) == {"Denmark · Greenland · troops", "US · Germany · troops moved"}
        moved = listed["US · Germany · troops moved"]
        assert (moved["points"], moved["changes"]) == (2, 1)
        points = api.get(f"/api/series/{moved['id']}").json()["points"]
        assert [p["figure"]["quote"] for p in points] == ["rund 1.500 Soldaten", "between 3,000 and 5,000 troops"]
        assert [p["changed"] for p in points] == [False, True]
        page = api.get(f"/series/{moved['id']}").text
        assert all(f"/articles/{p['article_id']}#m{p['mention_id']}" in page for p in points)
        assert api.get("/series").status_code == 200
