"""Read archives for replay: RSS/Atom files (plain or .gz), WARC web archives holding feed
responses (warcio), and JSON-lines exports from `newsvigil export`; files or folders of them.

Every problem is reported with its path (and line or URL) and reason; the rest is still read.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

from ingest.parse import parse_feed
from newsvigil.records import Article

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".feed"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
WARC_SUFFIXES = {".warc"}


@dataclass(slots=True)
class Rejected:
    path: str
    reason: str


@dataclass(slots=True)
class ArchiveRead:
    articles: list[Article] = field(default_factory=list)
    files: int = 0
    skipped: int = 0  # items outside --since/--until
    rejected: list[Rejected] = field(default_factory=list)


def _kind(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in JSONL_SUFFIXES:
        return "jsonl"
    if last in WARC_SUFFIXES:
        return "warc"
    if last in FEED_SUFFIXES:
        return "feed"
    return None


def archive_files(paths: list[str]) -> Iterator[tuple[Path, str | None]]:
    """Files to replay under `paths` (folders recursively), with a reason for paths that cannot be read."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and _kind(child):
                    yield child, None
        elif path.is_file():
            yield path, None
        else:
            yield path, "no such file or folder"


def read_archives(paths: list[str], since: datetime | None = None, until: datetime | None = None) -> ArchiveRead:
    """Read every archive; items come back in publication order, filtered to [since, until)."""
    out = ArchiveRead()
    for path, problem in archive_files(paths):
        if problem:
            out.rejected.append(Rejected(str(path), problem))
            continue
        out.files += 1
        kind = _kind(path) or "feed"
        if kind == "warc":
            _read_warc(path, out)
            continue
        try:
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            out.rejected.append(Rejected(str(path), f"cannot read: {getattr(exc, 'strerror', None) or exc}"))
            continue
        if kind == "jsonl":
            _read_jsonl(path, data, out)
            continue
        parsed = parse_feed(data, f"archive:{path.name.removesuffix('.gz')}", prefer_self_link=True)
        if parsed.error:
            out.rejected.append(Rejected(str(path), parsed.error))
        else:
            out.articles.extend(parsed.articles)
    if since or until:
        kept = [a for a in out.articles if (not since or _when(a) >= since) and (not until or _when(a) < until)]
        out.skipped = len(out.articles) - len(kept)
        out.articles = kept
    out.articles.sort(key=lambda a: (_when(a), a.id))
    return out


def _when(article: Article) -> datetime:
    return article.published or article.fetched_at


def _read_jsonl(path: Path, data: bytes, out: ArchiveRead) -> None:
    """`newsvigil export` lines ({"article": {...}, ...}) or bare article objects."""
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            payload = record.get("article", record) if isinstance(record, dict) else None
            if not isinstance(payload, dict) or not payload.get("id"):
                raise ValueError("not an article record (needs an object with an 'id')")
            out.articles.append(Article.from_json(payload))
        except (ValueError, TypeError, KeyError) as exc:
            out.rejected.append(Rejected(f"{path}:{number}", str(exc)))


def _read_warc(path: Path, out: ArchiveRead) -> None:
    """Feed responses in a WARC (plain or gzipped); other responses are listed as rejected."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        with path.open("rb") as stream:
            records = ArchiveIterator(stream)
            for record in records:
                if record.rec_type != "response":
                    continue
                uri = record.rec_headers.get_header("WARC-Target-URI") or f"archive:{path.name}"
                status = record.http_headers.get_statuscode() if record.http_headers else "200"
                body = record.content_stream().read()
                if getattr(record.raw_stream, "limit", 0):
                    raise EOFError(f"record {uri} ends early")  # warcio itself returns a short body
                if status != "200":
                    out.rejected.append(Rejected(f"{path}#{uri}", f"archived response has HTTP status {status}"))
                    continue
                content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
                parsed = parse_feed(body, uri, content_type=content_type)
                if parsed.error:
                    out.rejected.append(Rejected(f"{path}#{uri}", parsed.error))
                else:
                    out.articles.extend(parsed.articles)
            size = path.stat().st_size
            if records.offset < size:  # warcio stops quietly at a header cut short
                raise EOFError(f"{size - records.offset} bytes after the last complete record")
    except (ArchiveLoadFailed, EOFError, zlib.error, OSError, ValueError) as exc:
        out.rejected.append(Rejected(str(path), f"truncated or corrupt WARC: {exc}"))
