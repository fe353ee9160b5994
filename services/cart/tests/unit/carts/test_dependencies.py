"""The client's address for the guest-cart cap."""

from __future__ import annotations

from empora_cart.carts.dependencies import resolve_client_ip
from empora_cart.settings import parse_networks

LOCAL = parse_networks("127.0.0.1,::1")


class TestResolveClientIp:
    def test_is_the_peer_without_forwarded_for(self) -> None:
        assert resolve_client_ip("203.0.113.5", None, LOCAL) == "203.0.113.5"

    def test_ignores_forwarded_for_from_an_untrusted_peer(self) -> None:
        assert resolve_client_ip("203.0.113.5", "198.51.100.1", LOCAL) == "203.0.113.5"

    def test_takes_the_address_a_trusted_proxy_forwarded(self) -> None:
        assert resolve_client_ip("127.0.0.1", "198.51.100.1", LOCAL) == "198.51.100.1"

    def test_a_client_cannot_spoof_by_prepending_addresses(self) -> None:
        assert resolve_client_ip("127.0.0.1", "1.1.1.1, 198.51.100.1", LOCAL) == "198.51.100.1"

    def test_walks_back_through_a_chain_of_trusted_proxies(self) -> None:
        trusted = parse_networks("127.0.0.1,10.0.0.0/8")

        assert resolve_client_ip("127.0.0.1", "198.51.100.1, 10.1.2.3", trusted) == "198.51.100.1"

    def test_stops_at_garbage_in_the_chain(self) -> None:
        assert resolve_client_ip("127.0.0.1", "198.51.100.1, not-an-ip", LOCAL) == "127.0.0.1"

    def test_ipv6_peer_and_hops(self) -> None:
        assert resolve_client_ip("::1", "2001:db8::7", LOCAL) == "2001:db8::7"

    def test_without_a_peer_is_unknown(self) -> None:
        assert resolve_client_ip(None, "198.51.100.1", LOCAL) == "unknown"
