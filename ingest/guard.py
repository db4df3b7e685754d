"""The SSRF guard: feeds may only be fetched from public addresses, checked where it counts.

Every hop's host is resolved when the connection is opened, each resolved address is checked, and
the connection goes to the checked address (TLS still names the host). A DNS answer that changes
between a check and the connect (rebinding) therefore cannot reach an internal service.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import httpcore
import httpx

from newsvigil.settings import Settings, parse_networks

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Not covered by `is_global` checks on every Python version, or worth naming explicitly.
_BLOCKED = [
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",  # carrier-grade NAT
        "169.254.0.0/16",
        "fe80::/10",  # link-local, including the cloud metadata address 169.254.169.254
        "fc00::/7",  # unique-local IPv6
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "224.0.0.0/4",
        "ff00::/8",  # multicast
    )
]


# IPv6 forms that carry an IPv4 address in their last 32 bits: NAT64 (well-known and local-use),
# IPv4-translated and the deprecated IPv4-compatible form. ::ffff: (mapped), 6to4 and Teredo have
# attributes of their own.
_EMBEDDING = [ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::ffff:0:0:0/96", "::/96")]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches through a transition mechanism, if any: the guard
    checks that one ('64:ff9b::a9fe:a9fe' is 169.254.169.254)."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]  # the client's address
    if any(ip in net for net in _EMBEDDING) and int(ip) > 1:  # not :: and ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


class FetchRefused(Exception):
    """The URL may not be fetched (scheme or address), or the response broke a limit."""


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses feeds may be fetched from: public ones, plus `allowed` networks (or all)."""

    allow_private: bool = False
    allowed: tuple[Network, ...] = field(default_factory=tuple)

    def refusal(self, address: str) -> str | None:
        """Why a connection to `address` is refused, or None when it is allowed."""
        ip = ipaddress.ip_address(address.split("%", maxsplit=1)[0])
        if isinstance(ip, ipaddress.IPv6Address):
            ip = embedded_ipv4(ip) or ip
        if self.allow_private or any(ip in net for net in self.allowed):
            return None
        if not ip.is_global or any(ip in net for net in _BLOCKED):
            return f"non-public address {ip}"
        return None

    def check(self, host: str, addresses: list[str]) -> list[str]:
        """`addresses` when every one is allowed; else FetchRefused naming the host and the address.
        All of them: a mixed answer is how rebinding attacks start."""
        for address in addresses:
            reason = self.refusal(address)
            if reason:
                raise FetchRefused(
                    f"{host} resolves to {reason}; set NEWSVIGIL_ALLOW_PRIVATE_NETWORKS=1 "
                    "or NEWSVIGIL_ALLOWED_NETWORKS to allow it"
                )
        return addresses


class GuardedSyncBackend(httpcore.NetworkBackend):
    """The same guard for synchronous clients (alert delivery): resolve, check, connect to the checked address."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.policy.check(host, resolve_now(host, port))
        error: Exception | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable | None = None
    ) -> httpcore.NetworkStream:
        raise FetchRefused("unix sockets are not used")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def resolve_now(host: str, port: int) -> list[str]:
    """`resolve`, blocking: for synchronous clients."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def guarded_sync_client(policy: AddressPolicy, **options) -> httpx.Client:
    """A synchronous httpx client whose every connection goes through the guard (no redirects)."""
    transport = httpx.HTTPTransport(trust_env=False)
    if not policy.allow_private:
        transport._pool._network_backend = GuardedSyncBackend(policy)  # as for feeds: the connect step
    return httpx.Client(transport=transport, follow_redirects=False, trust_env=False, **options)


def policy_for(settings: Settings) -> AddressPolicy:
    """The address policy the settings describe: one for feeds, pages and alert delivery alike."""
    return AddressPolicy(settings.allow_private_networks, parse_networks(settings.allowed_networks))


# Apprise services whose address is the service's own (the URL holds tokens, not a host): allowed.
APPRISE_SERVICES = frozenset({"tgram", "slack", "discord", "msteams", "pover", "pbul", "opsgenie", "pagerduty"})
# Apprise services that connect to a host named in the URL: allowed when that host passes the guard.
APPRISE_HOSTED = frozenset(
    {
        "json",
        "jsons",
        "form",
        "forms",
        "xml",
        "xmls",
        "ntfy",
        "ntfys",
        "gotify",
        "gotifys",
        "matrix",
        "matrixs",
        "mmost",
        "mmosts",
        "rocket",
        "rockets",
        "mailto",
        "mailtos",
    }
)


def apprise_refusal(target: str, policy: AddressPolicy | None = None) -> str | None:
    """Why an Apprise URL may not be used, or None. Without `policy` only its form is checked (when a
    subscription is made); with it, the host it names is resolved and checked too (before each delivery;
    Apprise then connects on its own, so a name that changes in between is the remaining gap)."""
    scheme = target.partition("://")[0].lower()
    allowed = ", ".join(sorted(APPRISE_SERVICES | APPRISE_HOSTED))
    if scheme in APPRISE_SERVICES:
        return None
    if scheme not in APPRISE_HOSTED:
        return f"Apprise scheme {scheme!r} is not allowed (allowed: {allowed})"
    parts = urlsplit(target)
    # Split by hand: parse_qsl reads "+" as a space, and "+Header" is how Apprise sets a header.
    for key, _, value in (unquote(p).partition("=") for p in parts.query.split("&") if p):
        if key[:1] in "+-:":
            return f"Apprise URL parameter {key!r} (a header or field of your choosing) is not allowed"
        if key.lower() == "method" and value.lower() != "post":
            return f"Apprise method {value!r} is not allowed (alerts are POSTed)"
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        return f"Apprise URL: {exc}"
    if not host:
        return "Apprise URL names no host"
    if policy is None or policy.allow_private:
        return None
    try:  # a name that does not resolve now raises (a passing failure, retried), it is no refusal
        policy.check(host, resolve_now(host, port or 443))
    except FetchRefused as exc:
        return str(exc)
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that resolves, checks, then connects to the checked address."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self.policy.check(host, await resolve(host, port))
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise FetchRefused("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a literal address resolves to itself)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
