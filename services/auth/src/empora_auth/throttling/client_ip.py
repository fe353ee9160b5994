"""The client's IP: the socket peer, or — behind a trusted proxy — from X-Forwarded-For.

``TRUSTED_PROXIES`` (comma-separated IPs or CIDRs, default ``127.0.0.1,::1``) lists the peers
whose ``X-Forwarded-For`` is believed. Then the right-most entry that is not itself a trusted
proxy is the client (entries to its left could have been written by the client).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN_CLIENT = "unknown"


@lru_cache(maxsize=16)
def parse_trusted(spec: str) -> tuple[IPNetwork, ...]:
    """``"127.0.0.1,10.0.0.0/8"`` as networks; invalid entries raise ValueError."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()
    )


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Sequence[IPNetwork]
) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def resolve_client_ip(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> str:
    """The client IP for a peer address and its X-Forwarded-For header."""
    peer_ip = _parse_ip(peer) if peer else None
    if peer_ip is None:
        return peer or UNKNOWN_CLIENT
    if not forwarded_for or not _trusted(peer_ip, trusted):
        return str(peer_ip)
    hops = [h for h in (part.strip() for part in forwarded_for.split(",")) if h]
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if address is None:
            # Garbage where an address should be: do not let it pick the bucket.
            return str(peer_ip)
        if not _trusted(address, trusted):
            return str(address)
    # Every hop is a trusted proxy: the left-most one is the closest we know to the client.
    first = _parse_ip(hops[0]) if hops else None
    return str(first or peer_ip)
