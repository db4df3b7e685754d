"""HTTP fetch of one feed: conditional, size-capped, time-boxed, refusing private networks by default."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

MAX_REDIRECTS = 5
ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


@dataclass(slots=True)
class FetchResult:
    """The outcome of one fetch: bytes on 200, nothing on 304, a one-line reason on failure."""

    url: str
    status: int | None
    content: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class FetchRefused(Exception):
    """The URL may not be fetched (scheme or address), or the response broke a limit."""


def make_client(user_agent: str, timeout: float) -> httpx.AsyncClient:
    """One shared client: connection pooling, no automatic redirects (each hop is checked)."""
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
    )


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 15 * 1024 * 1024,
    deadline: float = 30.0,
    allow_private: bool = False,
) -> FetchResult:
    """GET a feed with its validators; never raises for network or HTTP trouble."""
    try:
        return await asyncio.wait_for(
            _fetch(client, url, etag, last_modified, max_bytes, allow_private), timeout=deadline
        )
    except asyncio.TimeoutError:
        return FetchResult(url, None, error=f"timed out after {deadline:g} s")
    except FetchRefused as exc:
        return FetchResult(url, None, error=str(exc))
    except httpx.TimeoutException:
        return FetchResult(url, None, error="timed out")
    except httpx.TransportError as exc:
        return FetchResult(url, None, error=f"connection failed: {exc.__class__.__name__}: {exc}".rstrip(": "))
    except httpx.HTTPError as exc:
        return FetchResult(url, None, error=f"HTTP error: {exc}")


async def _fetch(client: httpx.AsyncClient, url: str, etag: str | None, last_modified: str | None,
                 max_bytes: int, allow_private: bool) -> FetchResult:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag  # echoed exactly as the server sent it
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        await check_destination(current, allow_private)
        async with client.stream("GET", current, headers=headers) as response:
            if response.status_code == 304:  # httpx counts 304 among redirects
                return FetchResult(url, 304, etag=etag, last_modified=last_modified)
            if response.is_redirect:
                location = response.headers.get("location")
                if not location:
                    return FetchResult(url, response.status_code, error=f"HTTP {response.status_code} without Location")
                current = urljoin(current, location)
                continue
            if response.status_code != 200:
                return FetchResult(url, response.status_code, error=f"HTTP {response.status_code} {response.reason_phrase}".strip())
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchRefused(f"body of {int(declared):,} bytes exceeds the {max_bytes:,}-byte limit")
            body = bytearray()
            async for chunk in response.aiter_bytes():  # decompressed: the cap also stops gzip bombs
                body += chunk
                if len(body) > max_bytes:
                    raise FetchRefused(f"body exceeds the {max_bytes:,}-byte limit")
            return FetchResult(
                url,
                200,
                content=bytes(body),
                content_type=response.headers.get("content-type"),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
    raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")


async def check_destination(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and, unless allowed, hosts that resolve to non-public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"scheme {parts.scheme or '(none)'!r} is not allowed; only http and https")
    if not parts.hostname:
        raise FetchRefused("URL has no host")
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(f"cannot resolve {parts.hostname}: {exc.strerror}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise FetchRefused(
                f"{parts.hostname} resolves to non-public address {address}; set NEWSVIGIL_ALLOW_PRIVATE_NETWORKS=1 to allow"
            )
