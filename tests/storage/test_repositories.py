"""Storage on SQLite and PostgreSQL: idempotent writes, re-detection, feed state, queries."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import StatementError

from newsvigil.records import Article, Detection, TroopMention, parse_time
from newsvigil.storage.database import make_engine
from newsvigil.storage.migrate import downgrade, upgrade
from newsvigil.storage.models import ArticleRow, ArticleTopic
from newsvigil.storage.repositories import (
    FetchOutcome,
    feed_states,
    list_events,
    mark_seen,
    record_fetch,
    save_detections,
    seen_item_ids,
    stats,
    upsert,
)


def article(n: int, **kw) -> Article:
    base = {
        "id": f"a{n}",
        "feed_url": "https://f.example/rss",
        "source": "F",
        "title": f"Title {n}",
        "summary": "S",
        "link": f"https://f.example/{n}",
        "published": datetime(2026, 11, n, tzinfo=UTC),
        "language": "en",
    }
    base.update(kw)
    return Article(**base)


def detection(a: Article, topics: list[str], values: list[float], version: str = "v1") -> Detection:
    troops = [
        TroopMention(v, v, v, False, "troops", f"{int(v)} troops", i * 20, i * 20 + 10) for i, v in enumerate(values)
    ]
    return Detection(a.id, "en", topics, troops, version)


def test_save_is_idempotent_and_reports_new_events_once(sessions):
    batch = [(article(1), detection(article(1), ["nato"], [1200])), (article(2), detection(article(2), [], []))]
    with sessions.begin() as s:
        first = save_detections(s, batch)
    with sessions.begin() as s:
        again = save_detections(s, batch)
    assert [e.id for e in first] == ["a1"] and again == []
    with sessions() as s:
        assert stats(s) == {"feeds": 0, "articles": 2, "events": 1, "troop_mentions": 1, "stories": 0, "alerts": 0}


def test_new_rules_replace_old_detection(sessions):
    a = article(3)
    with sessions.begin() as s:
        save_detections(s, [(a, detection(a, ["nato"], [100, 200]))])
    with sessions.begin() as s:
        save_detections(s, [(a, detection(a, ["nato", "greenland"], [300], version="v2"))])
    with sessions() as s:
        [event] = list_events(s)
        assert event["topics"] == ["nato", "greenland"] and event["rules_version"] == "v2"
        assert [m["value"] for m in event["figures"]] == [300]
        assert list_events(s, topic="greenland")[0]["id"] == "a3"
        assert list_events(s, since=datetime(2026, 11, 4, tzinfo=UTC)) == []
    with sessions.begin() as s:
        save_detections(s, [(a, detection(a, [], [], version="v3"))])
    with sessions() as s:
        assert stats(s)["events"] == 0


def test_upsert_keeps_what_sqlalchemy_did_with_the_rows(sessions):
    """Rows go straight to the driver: times are stored as SQLAlchemy stores them (read back equal), a
    column left out takes its default, and a value the column cannot take is a StatementError (the
    pipeline then stores the batch record by record)."""
    a = article(4)
    with sessions.begin() as s:
        save_detections(s, [(a, detection(a, [], []))])
        upsert(s, ArticleTopic, [{"article_id": a.id, "topic": "nato", "hour": 1}], ["article_id", "topic"])
    with sessions() as s:
        assert parse_time(s.scalar(select(ArticleRow.published_at).where(ArticleRow.id == a.id))) == a.published
        assert s.scalar(select(ArticleTopic.language).where(ArticleTopic.article_id == a.id)) == ""
    row = {"id": "a5", "feed_url": "u", "source": "F", "title": "T", "summary": "S", "link": None}
    row |= {"published_at": "not a time", "fetched_at": a.fetched_at, "language": "en", "body": None}
    with pytest.raises(StatementError), sessions.begin() as s:
        upsert(s, ArticleRow, [row], ["id"])


def test_seen_items_and_feed_state(sessions):
    url = "https://f.example/rss"
    with sessions.begin() as s:
        mark_seen(s, url, ["x", "y"])
        mark_seen(s, url, ["y", "z"])
        record_fetch(s, url, FetchOutcome(200, etag='"e1"', last_modified="Mon"))
    with sessions.begin() as s:
        assert seen_item_ids(s, url, ["x", "z", "w"]) == {"x", "z"}
        record_fetch(s, url, FetchOutcome(None, error="timed out"))
    with sessions() as s:
        feed = feed_states(s, [url])[url]
        assert (feed.etag, feed.consecutive_errors, feed.last_error) == ('"e1"', 1, "timed out")


def test_migrations_upgrade_and_downgrade(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    assert {"articles", "events", "troop_mentions", "feeds", "seen_items"} <= set(inspect(engine).get_table_names())
    downgrade(database_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(database_url)
    assert "articles" in inspect(engine).get_table_names()
    engine.dispose()
