"""The shared processing step against a real database (SQLite, and PostgreSQL under its marker)."""

from datetime import UTC, datetime

import pytest

from newsvigil.processors.pipeline import ArticleProcessor
from newsvigil.records import Article
from newsvigil.storage.queries import article_detail


def feed_item(article_id: str, title: str, summary: str, body: str = "") -> Article:
    """An English item of one feed, published on 1 March 2025."""
    return Article(
        id=article_id,
        feed_url="https://f.example/rss",
        source="F",
        title=title,
        summary=summary,
        published=datetime(2025, 3, 1, tzinfo=UTC),
        language="en",
        body=body,
    )


def test_a_copy_without_its_body_keeps_the_stored_body_and_its_figures(sessions, rules):
    """Replaying the archived feed of an article polled with its full text once erased the text and
    the figure found in it."""
    live = feed_item(
        "a1",
        "Nato plans Baltic rotation",
        "Allies meet in Brussels.",
        body="The alliance will rotate about 4,500 troops through Lithuania next year.",
    )
    processor = ArticleProcessor(rules, sessions, alerts="none")
    processor.process([live])
    replayed = Article(**{**{k: getattr(live, k) for k in live.__slots__}, "body": ""})
    processor.process([replayed])
    with sessions() as session:
        stored = article_detail(session, "a1")
    assert stored["text"].endswith("through Lithuania next year.")
    assert [f["value"] for f in stored["figures"]] == [4500]


def test_an_article_two_writers_store_at_once_is_one_new_event(database_url, rules):
    """The second writer asked which articles were stored before the first one committed the same
    article; it then took it for new too: two new events, and a story counting it twice."""
    import threading

    from sqlalchemy import event, func, select

    from newsvigil.storage.database import make_engine, session_factory
    from newsvigil.storage.migrate import upgrade
    from newsvigil.storage.models import StoryArticle, StoryRow

    upgrade(database_url)
    article = feed_item(
        "same",
        "Nato allies discuss Greenland at the summit",
        "Foreign ministers met in Brussels to discuss Arctic security.",
    )
    first_engine, second_engine = make_engine(database_url), make_engine(database_url)
    first_committing, second_writing, release = threading.Event(), threading.Event(), threading.Event()

    @event.listens_for(first_engine, "commit")
    def hold_the_commit(_connection):
        first_committing.set()
        release.wait(30)

    @event.listens_for(second_engine, "before_cursor_execute")
    def note_the_first_write(_connection, _cursor, statement, *_):
        if statement.lstrip().upper().startswith("INSERT"):
            second_writing.set()  # its lookup of stored articles ran before the first one committed

    results = {}

    def store(name, engine):
        results[name] = ArticleProcessor(rules, session_factory(engine), alerts="none").process([article])

    first = threading.Thread(target=store, args=("first", first_engine))
    first.start()
    assert first_committing.wait(30)
    second = threading.Thread(target=store, args=("second", second_engine))
    second.start()
    assert second_writing.wait(30)
    release.set()
    first.join(60)
    second.join(60)
    try:
        assert [len(results[name].events) for name in ("first", "second")] == [1, 0]
        with session_factory(first_engine)() as session:
            assert session.execute(select(StoryRow.article_count)).scalars().all() == [1]
            assert session.scalar(select(func.count()).select_from(StoryArticle)) == 1
    finally:
        first_engine.dispose()
        second_engine.dispose()


@pytest.mark.postgres
def test_a_record_the_database_refuses_is_reported_and_the_others_are_stored(postgres_url, rules):
    """A value too long for its column once failed the whole batch, and the Kafka worker retried it forever."""
    from newsvigil.storage.database import make_engine, session_factory
    from newsvigil.storage.migrate import upgrade

    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    try:
        sessions = session_factory(engine)
        good = Article(
            id="good", feed_url="https://f.example/rss", source="F", title="Nato sends 300 troops", summary=""
        )
        # Built directly, past every cleaning step: only the database can refuse it.
        bad = Article(
            id="bad", feed_url="https://f.example/rss", source="F", title="Nato news", summary="", language="x" * 21
        )
        result = ArticleProcessor(rules, sessions, alerts="none").process([bad, good])
        assert [a.id for a, _ in result.failed] == ["bad"] and "refused by the database" in result.failed[0][1]
        assert [e.id for e in result.events] == ["good"]
        with sessions() as session:
            assert article_detail(session, "good") is not None and article_detail(session, "bad") is None
    finally:
        engine.dispose()


def test_feed_fields_are_cleaned_and_bounded_at_parse_time():
    from newsvigil.ingest.parse import parse_feed

    doc = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><language>"
        + "en-"
        + "x" * 18
        + "</language><item><guid>1</guid><title>Nato&#0; talks</title><link>https://f.example/"
        + "a" * 5000
        + "</link></item></channel></rss>"
    ).encode()
    [article] = parse_feed(doc, "https://f.example/rss").articles
    assert article.title == "Nato talks" and article.link is None and article.language == "en"
