"""HTTP fetch of one feed: conditional, size-capped, time-boxed, behind the SSRF guard."""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from newsvigil.ingest.guard import AddressPolicy, FetchRefused, GuardedBackend, policy_for

MAX_REDIRECTS = 5
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
# Only what BoundedDecoder can inflate with a cap on every step (brotli and zstd bindings cannot).
ACCEPT_ENCODING = "gzip, deflate"
# Response headers the scheduler reads (freshness, Retry-After).
SCHEDULE_HEADERS = ("cache-control", "expires", "date", "retry-after")

__all__ = ["FetchRefused", "FetchResult", "client_for", "fetch_feed", "make_client"]


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
    headers: dict[str, str] = field(default_factory=dict)  # SCHEDULE_HEADERS the server sent

    @property
    def ok(self) -> bool:
        return self.error is None


HOST_POOL_SIZE = 4  # connections in flight per pool, on average: 32 lanes, 8 pools (measured best of 1, 8, 16, 32)


def make_client(
    user_agent: str, timeout: float, policy: AddressPolicy | None = None, connections: int = 32
) -> httpx.AsyncClient:
    """One shared client: connection pooling, no automatic redirects (each hop is checked), and every
    connection opened through the guard, which checks the address it actually connects to.

    `connections`: requests in flight at once (the poller's fetch lanes), each lane keeping its
    connection alive for the next feed of its host. They are spread over small pools by host
    (`HostPools`): httpcore's pool looks at every connection it holds, several times, on every request.
    """
    policy = policy or AddressPolicy()
    # Each pool may hold as many connections as there are lanes, so that no request waits for another
    # host's connection, and keeps as many alive: past its keep-alive limit httpcore closes idle
    # connections (it counts every connection as idle), those a lane is about to reuse included.
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    pools = []
    for _ in range(max(1, connections // HOST_POOL_SIZE)):
        transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
        if not policy.allow_private:
            # httpx has no public hook for the connect step; httpcore's pool takes a network backend.
            transport._pool._network_backend = GuardedBackend(policy)
        pools.append(transport)
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        follow_redirects=False,
        transport=HostPools(pools) if len(pools) > 1 else pools[0],
        trust_env=False,  # a proxy from the environment would connect for us, past the guard
    )


class HostPools(httpx.AsyncBaseTransport):
    """Connection pools by host. httpcore's pool goes over every connection it holds at the start and
    end of every request (a poll(2) for each idle one) and, for each idle one, over all of them again:
    with 32 connections in one pool a 304 cost ~0.2 ms more CPU than with 8 pools of ~4
    (bench/poll.py). A host always goes to the same pool, where its connections wait for its next
    feed; every pool connects through the same guard."""

    def __init__(self, pools: list[httpx.AsyncHTTPTransport]) -> None:
        self.pools = pools

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.pools[hash(request.url.host) % len(self.pools)].handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()


def client_for(settings) -> httpx.AsyncClient:
    """The fetch client the settings describe (user agent, timeout, address policy)."""
    return make_client(settings.user_agent, settings.fetch_timeout, policy_for(settings), settings.fetch_concurrency)


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 15 * 1024 * 1024,
    deadline: float = 30.0,
) -> FetchResult:
    """GET a feed with its validators; never raises for network or HTTP trouble."""
    try:
        return await asyncio.wait_for(_fetch(client, url, etag, last_modified, max_bytes), timeout=deadline)
    except TimeoutError:
        return FetchResult(url, None, error=f"timed out after {deadline:g} s")
    except FetchRefused as exc:
        return FetchResult(url, None, error=str(exc))
    except httpx.TimeoutException:
        return FetchResult(url, None, error="timed out")
    except httpx.TransportError as exc:
        return FetchResult(url, None, error=f"connection failed: {exc.__class__.__name__}: {exc}".rstrip(": "))
    except httpx.HTTPError as exc:
        return FetchResult(url, None, error=f"HTTP error: {exc}")


def raw_header(response: httpx.Response, name: bytes) -> str | None:
    """A header's value as the bytes received, one character per byte (latin-1): RFC 9110 allows
    obs-text ('"café"' in an ETag), and the value must go back unchanged."""
    for key, value in response.headers.raw:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def validator(value: str | None, limit: int) -> str | None:
    """A validator worth keeping: one that fits its column (feeds.etag, feeds.last_modified) and holds
    no NUL. Without it the next poll is unconditional, which is always correct."""
    return value if value and len(value) <= limit and "\x00" not in value else None


def header_bytes(value: str) -> bytes:
    """A stored validator as the bytes to send (values stored before raw_header were decoded as UTF-8)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


async def _fetch(
    client: httpx.AsyncClient, url: str, etag: str | None, last_modified: str | None, max_bytes: int
) -> FetchResult:
    headers: dict[bytes, bytes] = {}
    if etag:
        headers[b"If-None-Match"] = header_bytes(etag)  # echoed exactly as the server sent it
    if last_modified:
        headers[b"If-Modified-Since"] = header_bytes(last_modified)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        check_url(current)
        async with client.stream("GET", current, headers=headers) as response:
            kept = {k: response.headers[k] for k in SCHEDULE_HEADERS if k in response.headers}
            if response.status_code == 304:  # httpx counts 304 among redirects
                # A 304 has no body; reading its end hands the connection back to the pool for the
                # next feed of this host (a response closed unread closes its connection).
                await response.aread()
                if not headers:
                    return FetchResult(
                        url, 304, headers=kept, error="HTTP 304 Not Modified to a request without validators"
                    )
                return FetchResult(url, 304, etag=etag, last_modified=last_modified, headers=kept)
            if response.is_redirect:
                location = response.headers.get("location")
                if not location:
                    return FetchResult(url, response.status_code, error=f"HTTP {response.status_code} without Location")
                try:
                    current = urljoin(current, location)
                except ValueError:
                    return FetchResult(
                        url, response.status_code, error=f"HTTP {response.status_code} with a malformed Location"
                    )
                continue
            if response.status_code != 200:
                error = f"HTTP {response.status_code} {response.reason_phrase}".strip()
                return FetchResult(url, response.status_code, error=error, headers=kept)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchRefused(f"body of {int(declared):,} bytes exceeds the {max_bytes:,}-byte limit")
            decoder = BoundedDecoder(response.headers.get("content-encoding", ""), max_bytes)
            body = bytearray()
            async for chunk in response.aiter_raw():  # decoded here: httpx would inflate a whole chunk at once
                body += decoder.decode(chunk)
            body += decoder.flush()
            return FetchResult(
                url,
                200,
                content=bytes(body),
                content_type=response.headers.get("content-type"),
                etag=validator(raw_header(response, b"etag"), 1024),
                last_modified=validator(raw_header(response, b"last-modified"), 128),
                headers=kept,
            )
    raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")


class BoundedDecoder:
    """Content-Encoding decoding that never produces more than `max_bytes`: a compression bomb is
    stopped after max_bytes + 1 bytes of output, however much one network chunk would inflate to."""

    def __init__(self, encoding: str, max_bytes: int) -> None:
        encoding = encoding.strip().lower()
        self.max_bytes, self.total = max_bytes, 0
        self.raw_deflate = False
        if encoding in ("", "identity"):
            self.inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.inflater = zlib.decompressobj()
            self.raw_deflate = True  # some servers send raw deflate without the zlib header
        else:
            raise FetchRefused(f"content encoding {encoding!r} is not supported (gzip and deflate are)")

    def _count(self, data: bytes) -> bytes:
        self.total += len(data)
        if self.total > self.max_bytes:
            raise FetchRefused(f"body exceeds the {self.max_bytes:,}-byte limit")
        return data

    def decode(self, data: bytes) -> bytes:
        if self.inflater is None:
            return self._count(data)
        out = bytearray()
        try:
            while data:
                out += self._count(self.inflater.decompress(data, self.max_bytes - self.total + 1))
                data = self.inflater.unconsumed_tail
                if self.inflater.eof:
                    break
        except zlib.error:
            if not (self.raw_deflate and self.total == 0 and not out):
                raise FetchRefused("the compressed body is corrupt") from None
            self.inflater, self.raw_deflate = zlib.decompressobj(-zlib.MAX_WBITS), False
            return self.decode(data)
        return bytes(out)

    def flush(self) -> bytes:
        return self._count(self.inflater.flush()) if self.inflater else b""


def check_url(url: str) -> None:
    """Refuse non-http(s) URLs and URLs without a host (addresses are checked when connecting)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"scheme {parts.scheme or '(none)'!r} is not allowed; only http and https")
    if not parts.hostname:
        raise FetchRefused("URL has no host")
    try:
        parts.port  # noqa: B018 - out of range (":99999") raises here, not as a traceback at connect
    except ValueError as exc:
        raise FetchRefused(f"URL has an invalid port: {exc}") from None
