"""Find the feed behind a URL: the URL itself when it is a feed, else the page's <link rel="alternate">."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from newsvigil.ingest.fetch import fetch_feed
from newsvigil.ingest.parse import parse_feed

FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"}


class _Alternates(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        if (
            "alternate" in a.get("rel", "").lower().split()
            and a.get("type", "").lower() in FEED_TYPES
            and a.get("href")
        ):
            self.links.append((a["href"], a.get("title") or None))


def alternate_links(page: bytes, base_url: str) -> list[tuple[str, str | None]]:
    """Feed links a HTML page declares, as absolute URLs with their titles."""
    parser = _Alternates()
    parser.feed(page.decode("utf-8", "replace"))
    links = []
    for href, title in parser.links:
        try:
            url = urljoin(base_url, href.strip())
        except ValueError:  # a malformed href ("http://[::1") is no link
            continue
        if urlsplit(url).scheme.lower() in ("http", "https"):  # never file:, javascript:, data: ...
            links.append((url, title))
    return links


async def discover_feed(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, deadline: float
) -> tuple[str, str | None]:
    """(feed URL, title) for `url`; ValueError with the reason when there is none."""
    result = await fetch_feed(client, url, max_bytes=max_bytes, deadline=deadline)
    if result.error:
        raise ValueError(f"{url}: {result.error}")
    parsed = parse_feed(result.content, url, content_type=result.content_type)
    if not parsed.error:
        return url, parsed.title
    links = alternate_links(result.content, url)
    if not links:
        raise ValueError(f'{url} is neither a feed nor a page that links one (<link rel="alternate">)')
    return links[0]
