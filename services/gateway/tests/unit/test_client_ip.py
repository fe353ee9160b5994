"""The client address: the peer, unless a trusted proxy says otherwise."""

from __future__ import annotations

from empora_gateway.client_ip import ClientAddress


class TestClientAddress:
    def test_without_trusted_proxies_the_peer_is_the_client(self) -> None:
        resolver = ClientAddress([])
        assert resolver.resolve("127.0.0.1", b"1.2.3.4") == "127.0.0.1"
        assert not resolver.is_trusted("127.0.0.1")

    def test_an_untrusted_peer_cannot_forward(self) -> None:
        resolver = ClientAddress(["10.0.0.0/8"])
        assert resolver.resolve("192.0.2.1", b"1.2.3.4") == "192.0.2.1"

    def test_a_trusted_peer_names_the_client(self) -> None:
        resolver = ClientAddress(["10.0.0.1"])
        assert resolver.resolve("10.0.0.1", b"203.0.113.5") == "203.0.113.5"

    def test_the_chain_is_walked_from_the_right_skipping_trusted_hops(self) -> None:
        resolver = ClientAddress(["10.0.0.0/8"])
        chain = b"6.6.6.6, 203.0.113.5, 10.0.0.7"
        assert resolver.resolve("10.0.0.1", chain) == "203.0.113.5"

    def test_a_chain_of_only_trusted_hops_gives_the_leftmost(self) -> None:
        resolver = ClientAddress(["10.0.0.0/8"])
        assert resolver.resolve("10.0.0.1", b"10.0.0.3, 10.0.0.2") == "10.0.0.3"

    def test_garbage_in_the_chain_stops_at_the_last_verified_hop(self) -> None:
        resolver = ClientAddress(["10.0.0.0/8"])
        assert resolver.resolve("10.0.0.1", b"1.2.3.4, not-an-ip") == "10.0.0.1"

    def test_ipv6_networks(self) -> None:
        resolver = ClientAddress(["::1", "fd00::/8"])
        assert resolver.resolve("::1", b"2001:db8::5, fd00::1") == "2001:db8::5"
