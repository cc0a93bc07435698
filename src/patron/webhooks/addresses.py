"""Where a webhook may point: never at the server's own network (SSRF).

A URL's host is resolved and *every* address it resolves to is checked: an address that is
not globally routable (loopback, RFC 1918 private, link-local, carrier-grade NAT, unique local,
unspecified, documentation, reserved, multicast; IPv4-mapped IPv6 is checked as IPv4) is
refused, and so are the cloud metadata services. The check runs when an endpoint is added and
again before every delivery, and the delivery connects to the address that was checked (not to
a second DNS answer), so a host that resolves to a public address at creation and to
``127.0.0.1`` later (DNS rebinding) gets nothing.

``PATRON_WEBHOOKS_ALLOW_PRIVATE=1`` allows non-public addresses (a webhook to a service on the
same host or LAN, and the tests' ``127.0.0.1``). Cloud metadata addresses stay refused even
then: nothing a loyalty webhook does needs the instance's credentials.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from patron.webhooks.errors import (
    WebhookUrlInvalidError,
    WebhookUrlRefusedError,
    WebhookUrlUnresolvableError,
)

ALLOW_PRIVATE_ENV = "PATRON_WEBHOOKS_ALLOW_PRIVATE"
_TRUE = {"1", "true", "yes", "on"}

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# instance metadata services: AWS, GCP, Azure, OpenStack, DigitalOcean (169.254.169.254),
# AWS over IPv6, Alibaba Cloud, Oracle Cloud (192.0.0.192)
METADATA_ADDRESSES: frozenset[IpAddress] = frozenset(
    ipaddress.ip_address(text)
    for text in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


def allow_private() -> bool:
    """Whether ``PATRON_WEBHOOKS_ALLOW_PRIVATE`` is set to a true value (read at each use)."""
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in _TRUE


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: its parts and the addresses its host resolved to, all allowed."""

    url: str
    parts: SplitResult
    host: str
    port: int
    addresses: tuple[IpAddress, ...]


def parse(url: str) -> tuple[SplitResult, str, int]:
    """The URL's parts, its host (lower case, without brackets) and port, or
    :class:`WebhookUrlInvalidError`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebhookUrlInvalidError(f"not a valid URL: {error}", field="url") from error
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlInvalidError("the URL must start with http:// or https://", field="url")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookUrlInvalidError("the URL has no host", field="url")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlInvalidError("the URL must not carry a user name or password", field="url")
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise WebhookUrlInvalidError("the URL must not contain spaces or controls", field="url")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


# RFC 6052's well-known NAT64 prefix: a network with a NAT64 gateway reaches the IPv4
# address in the last 32 bits (Python calls the prefix global, whatever it embeds)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _plain(address: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in (address.ipv4_mapped, address.sixtofour):
            if embedded is not None:
                return embedded
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(address: IpAddress, *, private_allowed: bool) -> str | None:
    """Why ``address`` may not receive webhooks (None: it may)."""
    plain = _plain(address)
    if address in METADATA_ADDRESSES or plain in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if private_allowed:
        return None
    if plain.is_loopback:
        return f"{address} is a loopback address"
    if plain.is_link_local:
        return f"{address} is a link-local address"
    if plain.is_private:
        return f"{address} is a private address"
    if plain.is_multicast or not plain.is_global:
        return f"{address} is not a public address"
    return None


async def resolve(host: str, port: int) -> tuple[IpAddress, ...]:
    """Every address ``host`` resolves to (an IP literal is itself), in the resolver's
    order, or :class:`WebhookUrlUnresolvableError`."""
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise WebhookUrlUnresolvableError(
            f"the host {host!r} does not resolve: {error}", field="url", params={"host": host}
        ) from error
    found: list[IpAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise WebhookUrlUnresolvableError(
            f"the host {host!r} has no address", field="url", params={"host": host}
        )
    return tuple(found)


async def check(url: str, *, private_allowed: bool | None = None) -> Target:
    """Parse ``url``, resolve its host and check every address (see the module's text);
    raises :class:`WebhookUrlInvalidError`, :class:`WebhookUrlUnresolvableError` or
    :class:`WebhookUrlRefusedError` (field ``url``)."""
    allowed = allow_private() if private_allowed is None else private_allowed
    parts, host, port = parse(url)
    if host.lower() in METADATA_HOSTS:
        raise WebhookUrlRefusedError(
            f"{host} is a cloud metadata host", field="url", params={"host": host}
        )
    addresses = await resolve(host, port)
    for address in addresses:
        reason = refusal(address, private_allowed=allowed)
        if reason is not None:
            raise WebhookUrlRefusedError(
                f"webhooks may not point at {host}: {reason}"
                + ("" if allowed else f" (set {ALLOW_PRIVATE_ENV}=1 to allow it)"),
                field="url",
                params={"host": host, "reason": reason},
            )
    return Target(url=url, parts=parts, host=host, port=port, addresses=addresses)
