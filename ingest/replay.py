"""Replay archived feed files (RSS/Atom, plain or .gz, files or folders) through the pipeline."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ingest.parse import parse_feed
from newsvigil.records import Article

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".feed"}


@dataclass(slots=True)
class Rejected:
    path: str
    reason: str


@dataclass(slots=True)
class ArchiveRead:
    articles: list[Article] = field(default_factory=list)
    files: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def archive_files(paths: list[str]) -> Iterator[tuple[Path, str | None]]:
    """Files to replay under `paths` (folders recursively), with a reason for paths that cannot be read."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and _looks_like_feed(child):
                    yield child, None
        elif path.is_file():
            yield path, None
        else:
            yield path, "no such file or folder"


def _looks_like_feed(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in FEED_SUFFIXES


def read_archives(paths: list[str]) -> ArchiveRead:
    """Parse every archive file; unreadable or broken ones are listed with their reason."""
    out = ArchiveRead()
    for path, problem in archive_files(paths):
        if problem:
            out.rejected.append(Rejected(str(path), problem))
            continue
        out.files += 1
        try:
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            out.rejected.append(Rejected(str(path), f"cannot read: {getattr(exc, 'strerror', None) or exc}"))
            continue
        parsed = parse_feed(data, f"archive:{path.name.removesuffix('.gz')}", prefer_self_link=True)
        if parsed.error:
            out.rejected.append(Rejected(str(path), parsed.error))
            continue
        out.articles.extend(parsed.articles)
    out.articles.sort(key=lambda a: (a.published or a.fetched_at, a.id))
    return out
