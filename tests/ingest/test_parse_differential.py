"""The fast path (ingest/fastparse.py) against feedparser, the reference: on every feed document the
repository can reach, either the fast path declines or parse_feed gives the very Articles (ids,
times, title and summary text, links, language, source), feed title and ttl that feedparser gives.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

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
