"""A database with the shipped sample archive replayed, plus one hostile article, for the web tests."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

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


@pytest.fixture(scope="session")
def replayed_sqlite_template(tmp_path_factory, rules) -> Path:
    """A SQLite file with the samples replayed and the hostile article stored, built once a session."""
    path = tmp_path_factory.mktemp("replayed") / "template.db"
    fill(f"sqlite:///{path}", rules)
    return path


def fill(database_url: str, rules) -> None:
    """Replay the samples (5 stories) into `database_url`, then store the hostile article."""
    with pytest.MonkeyPatch.context() as patch:  # default settings, as the tests have (see _clean_settings)
        for key in list(os.environ):
            if key.startswith("NEWSVIGIL_") and not key.startswith("NEWSVIGIL_TEST_"):
                patch.delenv(key)
        result = newsvigil("replay", str(REPO_ROOT / "seeds" / "samples"), env={"NEWSVIGIL_DATABASE_URL": database_url})
        assert result.returncode == 0, result.stderr
        store_hostile_article(database_url, rules)


@pytest.fixture
def replayed(request, database_url, rules):
    """The database URL, with the samples replayed (5 stories) and the hostile article stored.

    SQLite: a copy of the session's template file (SQLite's backup API: a consistent copy whatever
    its WAL holds). PostgreSQL (not in the fast set): replayed into each test's database."""
    if not database_url.startswith("sqlite"):
        fill(database_url, rules)
        return database_url
    template = request.getfixturevalue("replayed_sqlite_template")
    with (
        closing(sqlite3.connect(template)) as source,
        closing(sqlite3.connect(make_url(database_url).database)) as copy,
    ):
        source.backup(copy)
    return database_url
