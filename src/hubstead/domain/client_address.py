"""Which address a request came from, when it passed through proxies the operator trusts.

Behind nginx or an ingress every connection comes from the proxy, so per-address limits
(sign-ups, anonymous inference) would count all clients together and the audit log would show
the proxy. Proxies append the address they received a connection from to `X-Forwarded-For`;
anyone can send that header too, so it is read only when the connection comes from a trusted
proxy, and from the right: each trusted hop vouches for the address to its left, and the first
address that is not a trusted proxy is the client. Entries left of it are whatever the client
claimed and are never believed. Written here rather than taken from a middleware library
(uvicorn's and werkzeug's ProxyFix do the same walk) because the hub serves through granian and
needs the rule in one place that both the limits and the audit log read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BadProxyList(ValueError):
    """A trusted-proxy entry that is not an address or a network."""


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.0/8`, `127.0.0.1`, `::1`, … as networks (a bare address is a /32 or /128)."""
    networks = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise BadProxyList(f"{entry!r} is neither an IP address nor a network") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[Network]
) -> bool:
    return any(address in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str | None:
    """The client's address: the connection's peer, or, when the peer is a trusted proxy, the
    right-most `X-Forwarded-For` entry that is not one (`forwarded_for`: the header's values
    in the order received, each possibly a comma-separated list). An entry that is not an
    address ends the walk at the last trusted hop."""
    if peer is None or not trusted:
        return peer
    current = _address(peer)
    if current is None or not _trusted(current, trusted):
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        current = address
        if not _trusted(address, trusted):
            break
    return str(current)
