"""The feed list: an OPML file, or a text file with one URL per line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from newsvigil.errors import FeedListError


@dataclass(frozen=True, slots=True)
class FeedSource:
    url: str
    title: str | None = None
    language: str | None = None


def load_feed_list(path: str | Path) -> list[FeedSource]:
    """Read feeds from OPML (any <outline xmlUrl=...>) or plain text; errors name the file and line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FeedListError(f"feed list {path} does not exist") from None
    except OSError as exc:
        raise FeedListError(
            f"cannot read feed list {path}: {exc.strerror}", "check the path and its permissions"
        ) from None
    if data.lstrip()[:1] == b"<":
        return _from_opml(path, data)
    return _from_text(path, data)


def _from_opml(path: Path, data: bytes) -> list[FeedSource]:
    try:
        # OPML is a small file the user chose; still, forbid DTDs so no entity can expand.
        if b"<!DOCTYPE" in data[:2048] or b"<!ENTITY" in data:
            raise FeedListError(
                f"feed list {path}: DTDs and entities are not allowed in OPML", "remove the <!DOCTYPE> block"
            )
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise FeedListError(
            f"feed list {path} is not valid OPML: {exc.msg if hasattr(exc, 'msg') else exc} (line {line}, column {column})",
            "fix the XML, or use a text file with one URL per line",
        ) from None
    except LookupError as exc:  # the XML declaration names an encoding Python does not know
        raise FeedListError(
            f"feed list {path} is not valid OPML: {exc}", 'declare encoding="UTF-8" and save the file as UTF-8'
        ) from None
    feeds: list[FeedSource] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url or url in seen:
            continue
        _check_url(path, url, f"outline {outline.get('text') or outline.get('title') or url!r}")
        seen.add(url)
        feeds.append(FeedSource(url, outline.get("title") or outline.get("text"), outline.get("language")))
    if not feeds:
        raise FeedListError(f"feed list {path} has no <outline xmlUrl=...> entries", "add feeds to the OPML file")
    return feeds


def _from_text(path: Path, data: bytes) -> list[FeedSource]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedListError(
            f"feed list {path} is neither OPML nor UTF-8 text", "save it as UTF-8, one URL per line"
        ) from None
    feeds: list[FeedSource] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        url = line.split("#", 1)[0].strip() if not line.lstrip().startswith("http") else line.strip()
        if not url or url in seen:
            continue
        _check_url(path, url, f"line {number}")
        seen.add(url)
        feeds.append(FeedSource(url))
    if not feeds:
        raise FeedListError(f"feed list {path} lists no feed URLs", "add one http(s) URL per line")
    return feeds


def _check_url(path: Path, url: str, where: str) -> None:
    if not url.lower().startswith(("http://", "https://")):
        raise FeedListError(
            f"feed list {path}, {where}: {url!r} is not an http(s) URL", "feeds are fetched over HTTP(S) only"
        )
