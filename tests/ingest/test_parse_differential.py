"""The fast path (ingest/fastparse.py) against feedparser, the reference: on every feed document the
repository can reach, either the fast path declines or parse_feed gives the very Articles (ids,
times, title and summary text, links, language, source), feed title and ttl that feedparser gives.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsvigil.ingest.fastparse import parse_fast
from newsvigil.ingest.parse import parse_feed
from tests.ingest.feed_corpus import (
    PEERS,
    Document,
    peer_documents,
    peers_present,
    real_news_documents,
    repository_documents,
)

FETCHED = datetime(2025, 1, 1, tzinfo=UTC)
# A polled feed (links resolved against its URL) and an archive file (named by its rel=self link).
READINGS = (("https://news.example/feed.xml", False), ("archive:feed.xml", True))


def differences(documents: list[Document]) -> tuple[int, list[str]]:
    """(documents the fast path read, names of those where it disagrees with feedparser)."""
    fast = 0
    wrong = []
    for doc in documents:
        if parse_fast(doc.content, doc.content_type) is None:
            continue
        fast += 1
        for url, self_link in READINGS:
            got, expected = (
                parse_feed(
                    doc.content,
                    url,
                    content_type=doc.content_type,
                    fetched_at=FETCHED,
                    prefer_self_link=self_link,
                    use_fast_path=use_fast,
                )
                for use_fast in (True, False)
            )
            if (got.articles, got.title, got.error, got.ttl_minutes) != (
                expected.articles,
                expected.title,
                expected.error,
                expected.ttl_minutes,
            ):
                wrong.append(f"{doc.name} read as {url}")
    return fast, wrong


def test_repository_feeds_read_alike():
    documents = list(repository_documents())
    fast, wrong = differences(documents)
    assert wrong == []
    assert fast >= 5  # the samples and plain fixtures take the fast path; the hostile ones do not


def test_hostile_documents_are_declined():
    hostile = {d.name: d for d in repository_documents() if d.name.startswith("hostile:")}
    for name in ("billion-laughs", "xxe", "bad-utf8", "lying-charset", "truncated", "html"):
        doc = hostile[f"hostile:{name}"]
        assert parse_fast(doc.content, doc.content_type) is None, name


@pytest.mark.parametrize("share", [pytest.param(8, id="an eighth"), pytest.param(1, id="all", marks=pytest.mark.slow)])
def test_real_news_feeds_read_alike(share):
    documents = list(real_news_documents())[::share]
    if not documents:
        pytest.skip("tests/processors/corpus/real/text.jsonl is absent (see its rebuild.py)")
    fast, wrong = differences(documents)
    assert wrong == []
    assert fast == len(documents)  # plain UTF-8 RSS and Atom: every one takes the fast path


@pytest.mark.slow
@pytest.mark.parametrize("peer", sorted(PEERS))
def test_peer_repositories_feeds_read_alike(peer):
    if not peers_present((peer,)):
        pytest.skip(f"no snapshot of {peer} under /work/.mirror (fetch github:{peer.replace('+', '/')})")
    documents = list(peer_documents((peer,)))
    fast, wrong = differences(documents)
    assert wrong == []
    assert fast > 0


# Generated documents: the corners where feedparser transforms text (entities, markup, C1 controls,
# UTF-8 read as Latin-1, whitespace, slashes after "scheme://", `&amp;` in links, permalinks, dates).
TEXT = st.lists(
    st.sampled_from(["a", "Z", " ", "\n", "\t", "&", "<", ">", '"', "é", "Ã©", "\x85", "\x93", "€", "1", ";", "/"]),
    max_size=12,
).map("".join) | st.sampled_from(
    ["<b>bold</b> x", "&amp;nbsp;", "&lt;p&gt;Hi&lt;/p&gt;", "A &amp;amp; B", "  ", "", "&#233;"]
)
URL = st.sampled_from(
    [
        "https://a.example/x",
        "http:////a.example/y",
        "/rel/1",
        "item-7",
        "https://a.example/?a=1&b=2",
        "x&amp;y",
        "&q;",
        "",
    ]
)
DATE = st.sampled_from(
    [
        "Mon, 06 Jan 2025 10:00:00 +0100",
        "6 Jan 2025 10:00:00 GMT",
        "Mon, 06 Jan 2025 10:00:00 EST",
        "Mon, 31 Feb 2025 10:00:00 GMT",
        "2025-01-06T10:00:00Z",
        "2025-01-06T10:00:00.123456+05:30",
        "2025-01-06",
        "yesterday",
        "",
    ]
)
LANG = st.sampled_from([None, "", "fr", "en_GB", "de-AT"])


def _escaped(text: str, cdata: bool) -> str:
    return f"<![CDATA[{text}]]>" if cdata and "]]>" not in text else escape(text)


def _lang_attribute(lang: str | None) -> str:
    return "" if lang is None else f" xml:lang='{lang}'"


@st.composite
def rss_items(draw) -> str:
    parts = []
    if draw(st.booleans()):
        parts.append(f"<title{_lang_attribute(draw(LANG))}>{_escaped(draw(TEXT), draw(st.booleans()))}</title>")
    if draw(st.booleans()):
        parts.append(f"<description>{_escaped(draw(TEXT), draw(st.booleans()))}</description>")
    if draw(st.booleans()):
        parts.append(f"<content:encoded>{_escaped(draw(TEXT), draw(st.booleans()))}</content:encoded>")
    if draw(st.booleans()):
        parts.append(f"<link>{escape(draw(URL))}</link>")
    if draw(st.booleans()):
        permalink = draw(st.sampled_from(["", " isPermaLink='false'", " isPermaLink='true'", " isPermaLink='True'"]))
        parts.append(f"<guid{permalink}>{escape(draw(URL))}</guid>")
    if draw(st.booleans()):
        parts.append(f"<pubDate>{draw(DATE)}</pubDate>")
    order = draw(st.permutations(parts))
    return f"<item{_lang_attribute(draw(LANG))}>{''.join(order)}</item>"


@st.composite
def rss_documents(draw) -> bytes:
    items = "".join(draw(st.lists(rss_items(), min_size=1, max_size=3)))
    language = draw(st.sampled_from(["", "<language>pl</language>"]))
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' "
        "xmlns:content='http://purl.org/rss/1.0/modules/content/'>"
        f"<channel{_lang_attribute(draw(LANG))}><title>{escape(draw(TEXT))}</title>{language}{items}</channel></rss>"
    ).encode()


@st.composite
def atom_documents(draw) -> bytes:
    entries = []
    for _ in range(draw(st.integers(1, 3))):
        parts = []
        if draw(st.booleans()):
            kind = draw(st.sampled_from(["", " type='text'", " type='html'"]))
            parts.append(
                f"<title{kind}{_lang_attribute(draw(LANG))}>{_escaped(draw(TEXT), draw(st.booleans()))}</title>"
            )
        if draw(st.booleans()):
            parts.append(f"<summary type='html'>{escape(draw(TEXT))}</summary>")
        if draw(st.booleans()):
            parts.append(f"<content>{escape(draw(TEXT))}</content>")
        if draw(st.booleans()):
            rel = draw(st.sampled_from(["", " rel='alternate'", " rel='self'", " rel='enclosure'"]))
            parts.append(f"<link{rel} href='{escape(draw(URL))}'/>")
        if draw(st.booleans()):
            parts.append(f"<id>{escape(draw(URL))}</id>")
        for name in ("published", "updated"):
            if draw(st.booleans()):
                parts.append(f"<{name}>{draw(DATE)}</{name}>")
        entries.append(f"<entry{_lang_attribute(draw(LANG))}>{''.join(draw(st.permutations(parts)))}</entry>")
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'"
        f"{_lang_attribute(draw(LANG))}><title>{escape(draw(TEXT))}</title>{''.join(entries)}</feed>"
    ).encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(rss_documents(), atom_documents()))
def test_generated_feeds_read_alike(content):
    _, wrong = differences([Document("generated", content)])
    assert wrong == []
