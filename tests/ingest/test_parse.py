import json
from pathlib import Path

from newsvigil.ingest.parse import parse_feed, plain_text
from newsvigil.records import article_id

FIXTURES = Path(__file__).parent / "fixtures"


def test_golden_rss():
    parsed = parse_feed((FIXTURES / "rss-fr.xml").read_bytes(), "https://example.org/feed")
    assert parsed.error is None and parsed.title == "Exemple — Défense Europe"
    expected = json.loads((FIXTURES / "rss-fr.expected.json").read_text(encoding="utf-8"))
    got = [
        {
            "title": a.title,
            "summary": a.summary,
            "link": a.link,
            "published": a.published.isoformat(),
            "language": a.language,
        }
        for a in parsed.articles
    ]
    assert got == expected
    assert parsed.articles[0].id == article_id("https://example.org/feed", "sample-fr-1")  # the guid as written
    assert all(a.source == "Exemple — Défense Europe" for a in parsed.articles)


def test_an_item_has_the_same_id_polled_and_replayed():
    """A relative <guid> (isPermaLink by default) was resolved against the base URL: the feed's when
    polled, the archive file's when replayed, so one item was stored twice and alerted twice."""
    doc = (
        b"<?xml version='1.0'?><rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'><channel><title>T</title>"
        b"<atom:link rel='self' href='https://ex.org/feed.xml'/>"
        b"<item><guid>item-1</guid><title>One</title><link>/a/1</link></item>"
        b"<item><guid>https://ex.org/p/2</guid><title>Two</title></item></channel></rss>"
    )
    live = parse_feed(doc, "https://ex.org/feed.xml").articles
    replayed = parse_feed(doc, "archive:feed.xml", prefer_self_link=True).articles
    assert [a.id for a in live] == [a.id for a in replayed]
    assert [a.link for a in live] == [a.link for a in replayed] == ["https://ex.org/a/1", "https://ex.org/p/2"]


def test_html_stripped_entities_decoded_and_missing_fields_kept():
    parsed = parse_feed((FIXTURES / "entities.xml").read_bytes(), "https://example.org/e")
    first, second = parsed.articles
    assert first.title == 'Nato & Grønland: "no deal"'
    assert first.summary == "Première ligne Deuxième & dernière ligne"
    assert "alert" not in first.summary
    assert (second.link, second.published) == (None, None)
    assert second.id != first.id


def test_ids_are_stable_across_parses():
    data = (FIXTURES / "rss-fr.xml").read_bytes()
    assert [a.id for a in parse_feed(data, "u").articles] == [a.id for a in parse_feed(data, "u").articles]


def test_bad_documents_have_reasons():
    assert parse_feed(b"", "u").error == "empty document"
    assert parse_feed(b"<html><body><p>Hello</p></body></html>", "u").error is not None
    truncated = parse_feed(b'<rss version="2.0"><channel><item><title>one</title></item><item><title>cu', "u")
    assert [a.title for a in truncated.articles] == ["one"]  # complete items before the cut survive
    assert "malformed" in (parse_feed(b"<?xml version='1.0'?><rss><chan", "u").error or "")


def test_plain_text():
    assert plain_text("<b>A</b>&nbsp;&amp; <i>B</i>\n") == "A & B"
    assert plain_text(None) == ""
