"""Where a webhook may be sent: the SSRF guard.

A target must be an ``http`` or ``https`` URL with a host, and every address that host resolves
to (IPv4 and IPv6) must be globally routable: private (10/8, 172.16/12, 192.168/16, fc00::/7),
loopback, link-local (169.254/16 with the cloud metadata service, fe80::/10), multicast,
reserved and unspecified addresses are refused, as are IPv4 addresses dressed as IPv6
(``::ffff:10.0.0.1``, 6to4, Teredo). One bad address is enough: an attacker controlling DNS can
answer a public and a private address and let the connection pick.

The host may instead be listed in an allowlist (exact host names or IP literals, case-insensitive);
an allowlisted host is not resolved or checked. That is how tests and an in-house receiver on a
private network are let through.

Checked when a subscription is registered and again before every delivery attempt, since DNS
answers change. Known gap: the HTTP client resolves the name once more when it connects, so a
DNS server answering differently within that second can still win (pinning the checked address
would need a resolver per connection in the shared pooled client).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Collection
from urllib.parse import urlsplit

#: ``(host, port) -> addresses``; the default asks the system resolver.
Resolver = Callable[[str, int], Awaitable[list[str]]]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The URL is not a place webhooks may be sent (the message says why)."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is no webhook target, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and (inner := _embedded_ipv4(address)) is not None:
        return refusal(inner)
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return f"{address} is a {kind.replace('_', '-')} address"
    if not address.is_global:  # shared address space (100.64/10), documentation ranges...
        return f"{address} is not a public address"
    return None


def host_of(url: str) -> tuple[str, int]:
    """The URL's host and port; raises ``TargetRefused`` for a scheme other than http(s)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced "[" (Invalid IPv6 URL)
        raise TargetRefused(f"The webhook URL is malformed: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise TargetRefused(f"Webhook URLs must be http or https, not {scheme or 'schemeless'}.")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port out of range
        raise TargetRefused(f"The webhook URL is malformed: {exc}.") from None
    if not host:
        raise TargetRefused("The webhook URL names no host.")
    if parts.username or parts.password:
        raise TargetRefused("Webhook URLs must not carry credentials.")
    try:
        # An internationalised name resolves by its IDNA (punycode) form; one that has none is refused
        # here rather than failing inside the resolver.
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise TargetRefused(f"The webhook URL's host {host!r} is not a valid host name.") from None
    return host.lower(), port or (443 if scheme == "https" else 80)


async def check_target(
    *, url: str, allowlist: Collection[str] = (), resolver: Resolver | None = None, resolve_seconds: float = 3.0
) -> None:
    """Raise ``TargetRefused`` unless ``url`` may receive webhooks (see the module docstring)."""
    host, port = host_of(url)
    if host in {entry.lower() for entry in allowlist}:
        return
    try:
        addresses: list[str] = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = await asyncio.wait_for((resolver or system_resolver)(host, port), resolve_seconds)
        except (OSError, TimeoutError) as exc:
            raise TargetRefused(f"The host {host!r} does not resolve.") from exc
    if not addresses:
        raise TargetRefused(f"The host {host!r} does not resolve.")
    for raw in addresses:
        reason = refusal(ipaddress.ip_address(raw.split("%", 1)[0]))  # drop an IPv6 zone id
        if reason:
            raise TargetRefused(f"Webhooks are not sent to private or special addresses: {host!r}: {reason}.")


__all__ = ["Resolver", "TargetRefused", "check_target", "host_of", "refusal", "system_resolver"]
