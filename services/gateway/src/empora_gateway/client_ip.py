"""The client's address: the socket's peer unless a trusted proxy forwarded the request."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    """Computes the client IP from the peer address and ``X-Forwarded-For``.

    ``X-Forwarded-For`` is read only when the peer is a trusted proxy; it is then walked from
    the right, skipping trusted hops, and the first untrusted address is the client (so a
    client cannot choose its address by sending its own header through the proxy).
    """

    def __init__(self, trusted: list[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(entry, strict=False) for entry in trusted
        )
        self.enabled = bool(self.networks)
        self._trusted = lru_cache(maxsize=4096)(self._is_trusted_uncached)

    def _is_trusted_uncached(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def is_trusted(self, address: str) -> bool:
        """Whether this address belongs to a trusted proxy."""
        return self.enabled and self._trusted(address)

    def resolve(self, peer: str, forwarded_for: bytes | None) -> str:
        """The client IP for a request from ``peer`` carrying ``forwarded_for``."""
        if not self.enabled or forwarded_for is None or not self._trusted(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.decode("latin-1").split(",")]
        for hop in reversed(hops):
            if not hop:
                continue
            if not _valid_ip(hop):
                # Garbage in the chain: stop at the last address we could verify.
                return peer
            if not self._trusted(hop):
                return hop
            peer = hop
        return peer


@lru_cache(maxsize=4096)
def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
