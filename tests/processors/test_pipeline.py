"""The shared processing step against a real database (SQLite, and PostgreSQL under its marker)."""

from datetime import datetime, timezone

from newsvigil.records import Article
from processors.pipeline import ArticleProcessor
from storage.queries import article_detail


def test_a_copy_without_its_body_keeps_the_stored_body_and_its_figures(sessions, rules):
    """Replaying the archived feed of an article polled with its full text once erased the text and
    the figure found in it."""
    live = Article(id="a1", feed_url="https://f.example/rss", source="F", title="Nato plans Baltic rotation",
                   summary="Allies meet in Brussels.", published=datetime(2025, 3, 1, tzinfo=timezone.utc), language="en",
                   body="The alliance will rotate about 4,500 troops through Lithuania next year.")
    processor = ArticleProcessor(rules, sessions, alerts="none")
    processor.process([live])
    replayed = Article(**{**{k: getattr(live, k) for k in live.__slots__}, "body": ""})
    processor.process([replayed])
    with sessions() as session:
        stored = article_detail(session, "a1")
    assert stored["text"].endswith("through Lithuania next year.")
    assert [f["value"] for f in stored["figures"]] == [4500]
