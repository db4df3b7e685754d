import pytest

from newsvigil.errors import FeedListError
from newsvigil.ingest.feeds import load_feed_list
from tests.support import REPO_ROOT


def test_shipped_opml_lists_real_feeds():
    feeds = load_feed_list(REPO_ROOT / "seeds" / "feeds.opml")
    assert len(feeds) >= 15
    assert {f.language for f in feeds} >= {"fr", "en", "de", "da", "nl", "es", "it", "pl"}
    assert all(f.url.startswith("https://") for f in feeds)


def test_text_file(tmp_path):
    path = tmp_path / "feeds.txt"
    path.write_text("# my feeds\nhttps://a.example/rss\n\nhttps://b.example/atom#x\nhttps://a.example/rss\n")
    assert [f.url for f in load_feed_list(path)] == ["https://a.example/rss", "https://b.example/atom#x"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.opml", "<opml><body><outline xmlUrl='https://a'></body>", "is not valid OPML"),
        ("empty.opml", "<opml><body></body></opml>", "has no <outline xmlUrl"),
        ("ftp.txt", "ftp://example.org/feed\n", "line 1: 'ftp://example.org/feed' is not an http(s) URL"),
        ("bomb.opml", "<!DOCTYPE x [<!ENTITY a 'aaaa'>]><opml/>", "DTDs and entities are not allowed"),
    ],
)
def test_bad_feed_lists(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(FeedListError) as info:
        load_feed_list(path)
    assert message in str(info.value) and name in str(info.value)


def test_missing_feed_list(tmp_path):
    with pytest.raises(FeedListError, match="does not exist"):
        load_feed_list(tmp_path / "none.opml")


def test_discovery_keeps_only_http_links():
    from newsvigil.ingest.discover import alternate_links

    page = b"""<html><head>
    <link rel="alternate" type="application/rss+xml" href="file:///etc/passwd">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="application/rss+xml" href="http://[::1">
    <link rel="alternate" type="application/atom+xml" href="/feed.atom" title="Atom">
    </head></html>"""
    assert alternate_links(page, "https://example.org/news") == [("https://example.org/feed.atom", "Atom")]


def test_database_urls_are_printed_without_their_password():
    from newsvigil.storage.database import shown_url

    assert (
        shown_url("postgresql+psycopg://nv:s3cret@db:5432/newsvigil") == "postgresql+psycopg://nv:***@db:5432/newsvigil"
    )
