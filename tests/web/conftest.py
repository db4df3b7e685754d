"""A database with the shipped sample archive replayed, plus one hostile article, for the web tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsvigil.records import Article
from tests.support import REPO_ROOT, newsvigil

HOSTILE_TITLE = '<script>alert("title")</script><img src=x onerror=alert(1)> NATO pulls 1,200 troops'


def store_hostile_article(database_url: str, rules) -> None:
    """Stored as-is (not through the feed parser, which would strip the tags): the pages must escape it."""
    from newsvigil.processors.pipeline import ArticleProcessor
    from newsvigil.storage.database import make_engine, session_factory

    engine = make_engine(database_url)
    try:
        hostile = Article(
            id="hostile-1",
            feed_url="https://evil.example/rss",
            source="Evil <b>Outlet</b>",
            title=HOSTILE_TITLE,
            summary="Officials said NATO will pull about 1,200 troops. <svg onload=alert(2)>",
            link="javascript:alert(3)",
            published=datetime(2026, 11, 19, 9, tzinfo=UTC),
            language="en",
        )
        ArticleProcessor(rules, session_factory(engine)).process([hostile])
    finally:
        engine.dispose()


@pytest.fixture
def replayed(database_url, rules):
    """The database URL, with the samples replayed (5 stories) and the hostile article stored."""
    result = newsvigil("replay", str(REPO_ROOT / "seeds" / "samples"), env={"NEWSVIGIL_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    store_hostile_article(database_url, rules)
    return database_url
