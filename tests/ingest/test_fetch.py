"""The fetcher against a real HTTP server on 127.0.0.1."""

import gzip

import pytest
from werkzeug import Response

from newsvigil.ingest.fetch import fetch_feed, make_client
from newsvigil.ingest.guard import AddressPolicy, GuardedBackend

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


async def fetch(url, allow_private=True, **kw):
    async with make_client("newsvigil-test", 5, AddressPolicy(allow_private)) as client:
        return await fetch_feed(client, url, **kw)


async def test_ok_with_validators_and_user_agent(httpserver):
    httpserver.expect_request("/feed", headers={"User-Agent": "newsvigil-test"}).respond_with_data(
        FEED,
        headers={"ETag": '"v1"', "Last-Modified": "Wed, 18 Nov 2026 10:00:00 GMT"},
        content_type="application/rss+xml",
    )
    result = await fetch(httpserver.url_for("/feed"))
    assert (result.status, result.content, result.etag, result.last_modified) == (
        200,
        FEED,
        '"v1"',
        "Wed, 18 Nov 2026 10:00:00 GMT",
    )


async def test_conditional_request_gets_304(httpserver):
    httpserver.expect_request(
        "/feed", headers={"If-None-Match": '"v1"', "If-Modified-Since": "Wed, 18 Nov 2026 10:00:00 GMT"}
    ).respond_with_data("", status=304)
    result = await fetch(httpserver.url_for("/feed"), etag='"v1"', last_modified="Wed, 18 Nov 2026 10:00:00 GMT")
    assert result.status == 304 and result.ok and result.content == b""


async def test_body_cap_applies_after_decompression(httpserver):
    bomb = gzip.compress(b"<" * 2_000_000)
    httpserver.expect_request("/bomb").respond_with_response(Response(bomb, headers={"Content-Encoding": "gzip"}))
    result = await fetch(httpserver.url_for("/bomb"), max_bytes=100_000)
    assert result.error == "body exceeds the 100,000-byte limit"


async def test_http_error_and_unreachable(httpserver):
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    assert (await fetch(httpserver.url_for("/gone"))).error == "HTTP 404 NOT FOUND"
    result = await fetch("http://127.0.0.1:9/feed")
    assert result.error.startswith("connection failed")


async def test_redirects_followed_and_bounded(httpserver):
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data(FEED)
    assert (await fetch(httpserver.url_for("/old"))).content == FEED
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    assert (await fetch(httpserver.url_for("/loop"))).error == "more than 5 redirects"


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/feed", "http://localhost/feed"])
async def test_private_networks_refused_by_default(url):
    # Loopback only: a broken guard must never send traffic off the machine. Other ranges are
    # checked on the policy function below, which connects to nothing.
    result = await fetch(url, allow_private=False)
    assert "non-public address" in result.error and "NEWSVIGIL_ALLOW_PRIVATE_NETWORKS" in result.error


@pytest.mark.parametrize(
    "address, reaches",
    [
        ("10.0.0.1", "10.0.0.1"),
        ("169.254.169.254", "169.254.169.254"),
        ("100.64.0.1", "100.64.0.1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("64:ff9b::a00:5", "10.0.0.5"),  # NAT64, well-known prefix
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b:1::a00:1", "10.0.0.1"),  # NAT64, local-use prefix
        ("2002:a00:1::1", "10.0.0.1"),  # 6to4
        ("::a9fe:a9fe", "169.254.169.254"),  # IPv4-compatible
        ("::ffff:0:a00:1", "10.0.0.1"),  # IPv4-translated
        ("fd00:ec2::254", "fd00:ec2::254"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_guard_refuses_private_addresses_in_every_form(address, reaches):
    from newsvigil.ingest.guard import AddressPolicy

    assert AddressPolicy().refusal(address) == f"non-public address {reaches}"


@pytest.mark.parametrize("address", ["8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111"])
def test_guard_lets_public_addresses_through_in_every_form(address):
    from newsvigil.ingest.guard import AddressPolicy, parse_networks

    assert AddressPolicy().refusal(address) is None
    assert AddressPolicy(allowed=parse_networks("10.0.0.0/8")).refusal("64:ff9b::a00:5") is None  # the escape hatch


async def test_only_http_schemes():
    assert "scheme 'file' is not allowed" in (await fetch("file:///etc/passwd")).error


def raw_http_server(response: bytes):
    """A loopback server answering every request with `response` as written (werkzeug would tidy it)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(response)

    threading.Thread(target=serve, daemon=True).start()
    return listener


@pytest.mark.parametrize("location", [b"http://[::1", b"http://127.0.0.1:99999/feed"])
async def test_a_malformed_redirect_location_is_a_feed_error(location):
    """It once ended the poll with a traceback."""
    listener = raw_http_server(
        b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    try:
        result = await fetch(f"http://127.0.0.1:{listener.getsockname()[1]}/feed")
    finally:
        listener.close()
    assert result.error and "\n" not in result.error
    assert "location" in result.error.lower() or "invalid port" in result.error


async def test_every_pool_of_a_client_connects_through_the_guard():
    """Hosts are spread over several connection pools: each one refuses private addresses."""
    async with make_client("newsvigil-test", 5, AddressPolicy()) as client:
        pools = client._transport.pools  # the client's pools by host
        assert len(pools) > 1 and all(isinstance(p._pool._network_backend, GuardedBackend) for p in pools)
        results = [await fetch_feed(client, f"http://127.0.0.{n}:9/feed") for n in range(1, 65)]
    assert all("resolves to non-public address" in r.error for r in results)
