"""Spikes on the dashboard's reports-per-topic plot and in the API (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsvigil.processors.pipeline import ArticleProcessor
from newsvigil.records import Article
from newsvigil.storage.database import make_engine, session_factory
from newsvigil.storage.migrate import upgrade
from tests.web.test_api import client_for, new_token

START = datetime(2025, 9, 1, tzinfo=UTC)
BURST = START + timedelta(days=3, hours=15)


def greenland(n: int, when: datetime, lang: str = "en") -> Article:
    title = f"Grønland: landsstyret i Nuuk mødes, nr. {n}" if lang == "da" else f"Greenland: Nuuk council meets ({n})"
    return Article(
        id=f"w{n:04d}",
        feed_url="https://arctic-wire.example/rss",
        source="Arctic Wire",
        title=title,
        summary="",
        published=when,
        language=lang,
    )


@pytest.fixture
def spiked(database_url, rules) -> str:
    """Four quiet days on Greenland (two reports an hour), and 30 English reports in one afternoon hour."""
    upgrade(database_url)
    engine = make_engine(database_url)
    quiet = [greenland(i, START + timedelta(minutes=30 * i), "da" if i % 3 else "en") for i in range(4 * 48)]
    burst = [greenland(1000 + i, BURST + timedelta(minutes=i)) for i in range(30)]
    ArticleProcessor(rules, session_factory(engine), alerts="none").process(quiet + burst)
    engine.dispose()
    return database_url


def test_the_dashboard_marks_the_spike_on_the_reports_plot(spiked):
    with client_for(spiked) as web:
        page = web.get("/").text
        english = web.get("/", params={"language": "en"}).text
        danish = web.get("/", params={"language": "da"}).text
    plot = page[page.index('id="reports-plot"') : page.index('id="figures-plot"')]
    assert plot.count('class="spike"') == 1
    assert "<title>greenland: " in plot and " reports in the hour from 2025-09-04 15:00 UTC, usual " in plot
    assert "<title>greenland (en): " in english  # a language filter shows that language's spike
    assert 'class="spike"' not in danish


def test_the_api_lists_spikes(spiked):
    with client_for(spiked) as api:
        every = api.get("/api/spikes").json()
        assert [(s["topic"], s["language"]) for s in every["items"]] == [("greenland", None), ("greenland", "en")]
        assert every["next"] is None
        spike = every["items"][0]
        assert (
            spike["window_start"] == BURST.isoformat()
            and spike["window_end"] == (BURST + timedelta(hours=1)).isoformat()
        )
        assert spike["count"] >= 5 and spike["p_value"] < 1e-5 and (spike["baseline"], spike["sd"]) == (2.0, 0.0)
        assert api.get(f"/api/articles/{spike['article']}").json()["title"].startswith("Greenland: Nuuk council")
        assert [s["language"] for s in api.get("/api/spikes", params={"language": "all"}).json()["items"]] == [None]
        assert [s["language"] for s in api.get("/api/spikes", params={"language": "en"}).json()["items"]] == ["en"]
        assert api.get("/api/spikes", params={"topic": "nato"}).json()["items"] == []
        assert api.get("/api/spikes", params={"since": "2025-09-05"}).json()["items"] == []
        assert len(api.get("/api/spikes", params={"since": "2025-09-04T15:30:00Z"}).json()["items"]) == 2
        first = api.get("/api/spikes", params={"limit": 1}).json()
        second = api.get("/api/spikes", params={"limit": 1, "cursor": first["next"]}).json()
        assert [s["id"] for s in first["items"] + second["items"]] == [s["id"] for s in every["items"]]
        assert api.get("/api/spikes", params={"since": "soon"}).status_code == 422
    _, token = new_token(spiked)
    with client_for(spiked, public_dashboard=False) as api:
        assert api.get("/api/spikes").status_code == 401
        assert len(api.get("/api/spikes", headers={"Authorization": f"Bearer {token}"}).json()["items"]) == 2
