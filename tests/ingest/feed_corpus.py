"""Every feed document the differential test can reach: the repository's fixtures and samples, the
hostile-feed documents, feeds rebuilt from the real-news corpus, and the feeds of fetched peer
repositories (feedparser's own test suite, fastfeedparser's real-world benchmark feeds, reader's
test data) when their snapshots are on this machine. Third-party text is read in place, never copied.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[2]
MIRRORS = Path("/work/.mirror")
REAL_NEWS = REPO / "tests" / "processors" / "corpus" / "real" / "text.jsonl"
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
# Items published in 2026 are reserved: a peer's document that mentions the year at all is left out.
RESERVED_YEAR = b"2026"


@dataclass(frozen=True, slots=True)
class Document:
    name: str
    content: bytes
    content_type: str | None = None


def repository_documents() -> Iterator[Document]:
    """Feed fixtures, samples and the hostile-feed tests' documents."""
    for folder in ("tests", "seeds"):
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix.lower() in FEED_SUFFIXES and path.is_file():
                yield Document(str(path.relative_to(REPO)), path.read_bytes())
    from tests.ingest import test_hostile_feeds as hostile

    rss, item = hostile.RSS, hostile.item
    yield Document("hostile:billion-laughs", hostile.BILLION_LAUGHS.encode())
    yield Document("hostile:xxe", hostile.XXE.encode())
    yield Document("hostile:doctype-comment", gzip.decompress(hostile.DOCTYPE_COMMENT))
    yield Document(
        "hostile:bad-utf8", rss.format(enc="utf-8", items=item("Gr\xf8nland")).encode("latin-1"), "application/rss+xml"
    )
    yield Document(
        "hostile:lying-charset",
        rss.format(enc="iso-8859-1", items=item("Grønland")).encode("utf-8"),
        "application/rss+xml; charset=utf-16",
    )
    yield Document("hostile:truncated", rss.format(enc="utf-8", items=item("one") + item("two"))[:-60].encode())
    yield Document("hostile:html", b"<html><head><title>Home</title></head><body><p>Hi</p></body></html>", "text/html")
    good = (REPO / "seeds" / "samples" / "bundeswehr-de.xml").read_bytes()
    for content_type in (
        "application/rss+xml",
        "application/rss+xml; charset=UTF-8",
        "application/xml; charset=utf-8",
        "text/xml; charset=utf-8",
        "text/xml",
        "text/html",
        "application/rss+xml; charset=iso-8859-1",
    ):
        yield Document(f"samples/bundeswehr-de.xml as {content_type}", good, content_type)


def real_news_documents(per_feed: int = 40) -> Iterator[Document]:
    """The real-news corpus's items (2023), rebuilt into RSS and Atom documents of `per_feed` items."""
    if not REAL_NEWS.exists():
        return
    by_source: dict[str, list[dict]] = defaultdict(list)
    for line in REAL_NEWS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_source[record["source"]].append(record)
    for source, records in sorted(by_source.items()):
        for start in range(0, len(records), per_feed):
            chunk = records[start : start + per_feed]
            yield Document(f"real-news:{source}#{start}.rss", _rss(source, chunk))
            yield Document(f"real-news:{source}#{start}.atom", _atom(source, chunk))


def _rss(source: str, records: list[dict]) -> bytes:
    items = "".join(
        f"<item><title>{escape(r['title'])}</title><link>{escape(source)}/{r['id']}</link>"
        f"<guid isPermaLink='false'>{r['id']}</guid>"
        f"<pubDate>{format_datetime(datetime.fromisoformat(r['published']))}</pubDate>"
        f"<description>{escape(r['summary'] or '')}</description></item>"
        for r in records
    )
    lang = records[0].get("language") or "en"
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{escape(source)}</title>"
        f"<language>{lang}</language>{items}</channel></rss>"
    ).encode()


def _atom(source: str, records: list[dict]) -> bytes:
    entries = "".join(
        f"<entry><title type='html'>{escape(escape(r['title']))}</title><id>urn:x:{r['id']}</id>"
        f"<link href='{escape(source)}/{r['id']}'/><updated>{datetime.fromisoformat(r['published']).isoformat()}</updated>"
        f"<summary>{escape(r['summary'] or '')}</summary></entry>"
        for r in records
    )
    lang = records[0].get("language") or "en"
    return (
        f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom' xml:lang='{lang}'>"
        f"<title>{escape(source)}</title>{entries}</feed>"
    ).encode()


# (mirror folder, folders inside the repository holding feeds)
PEERS = {
    "kurtmckee+feedparser": ("tests/",),
    "lemon24+reader": ("tests/data/",),
    "kagisearch+fastfeedparser": ("tests/integration/", "benchmark_data/"),
}


def peer_documents(peers: tuple[str, ...] = tuple(PEERS)) -> Iterator[Document]:
    """Feeds in the fetched snapshots of peer repositories (read with git: a snapshot has no work tree)."""
    for peer in peers:
        git_dir = MIRRORS / peer / "repo"
        if not git_dir.exists():
            continue
        listing = _git(git_dir, "ls-tree", "-r", "HEAD", "--", *PEERS[peer]).decode().splitlines()
        blobs = [
            (line.split("\t", 1)[1], line.split()[2])
            for line in listing
            if line.split()[1] == "blob"
            and (line.endswith(FEED_SUFFIXES) or (peer.startswith("kagisearch") and "benchmark_data/" in line))
        ]
        for path, blob in blobs:
            content = _git(git_dir, "cat-file", "blob", blob)
            if RESERVED_YEAR not in content:
                yield Document(f"{peer}:{path}", content)


def peers_present(peers: tuple[str, ...] = tuple(PEERS)) -> list[str]:
    return [peer for peer in peers if (MIRRORS / peer / "repo").exists()]


def _git(git_dir: Path, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True).stdout
