"""Full text for topics that ask for it: fetch an item's article page under the feed limits (same
client, so the same SSRF guard, body cap and deadline) and extract its main text (trafilatura)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

import httpx

from newsvigil.ingest.fetch import fetch_feed
from newsvigil.records import Article

log = logging.getLogger("newsvigil.fulltext")
MAX_BODY_CHARS = 20_000  # detection reads the start of long pages; figures come early in news reports


def main_text(page: bytes, url: str) -> str | None:
    """The main text of an HTML page (boilerplate, navigation and comments left out), or None."""
    import trafilatura  # imported on first use: it pulls in lxml and friends

    text = trafilatura.extract(page, url=url, include_comments=False, include_tables=False, favor_precision=True)
    return text[:MAX_BODY_CHARS] if text else None


async def add_full_text(
    client: httpx.AsyncClient,
    articles: Sequence[Article],
    wanted: Callable[[Article], bool],
    *,
    max_bytes: int,
    deadline: float,
    concurrency: int = 4,
) -> list[Article]:
    """The articles, those `wanted` with the main text of their page as `body`. A page that cannot
    be fetched or read leaves its article as it was (logged), never drops it."""
    limit = asyncio.Semaphore(concurrency)

    async def one(article: Article) -> Article:
        try:
            return await with_full_text(article)
        except Exception as exc:  # one unreadable page (or a missing extractor) must not cost the feed its items
            log.warning("full text of %s not read: %s: %s", article.link, exc.__class__.__name__, exc)
            return article

    async def with_full_text(article: Article) -> Article:
        if not article.link or article.body or not wanted(article):
            return article
        async with limit:
            result = await fetch_feed(client, article.link, max_bytes=max_bytes, deadline=deadline)
        if result.error:
            log.warning("full text of %s not fetched: %s", article.link, result.error)
            return article
        text = await asyncio.to_thread(main_text, result.content, article.link)
        if not text:
            log.warning("full text of %s: no main text found", article.link)
            return article
        return replace(article, body=text)

    return list(await asyncio.gather(*(one(a) for a in articles)))
