from __future__ import annotations

import pytest

from empora_auth.throttling.client_ip import parse_trusted, resolve_client_ip

LOOPBACK = parse_trusted("127.0.0.1,::1")
PROXIES = parse_trusted("127.0.0.1,::1,10.0.0.0/8")


class TestResolveClientIp:
    def test_is_the_peer_without_forwarded_for(self) -> None:
        assert resolve_client_ip("203.0.113.9", None, LOOPBACK) == "203.0.113.9"

    def test_ignores_forwarded_for_from_an_untrusted_peer(self) -> None:
        assert resolve_client_ip("203.0.113.9", "198.51.100.1", LOOPBACK) == "203.0.113.9"

    def test_believes_forwarded_for_from_a_trusted_peer(self) -> None:
        assert resolve_client_ip("127.0.0.1", "198.51.100.1", LOOPBACK) == "198.51.100.1"

    def test_takes_the_right_most_untrusted_hop(self) -> None:
        # The client wrote "1.2.3.4" itself; the gateway appended the address it saw.
        header = "1.2.3.4, 198.51.100.7, 10.1.2.3"
        assert resolve_client_ip("127.0.0.1", header, PROXIES) == "198.51.100.7"

    def test_falls_back_to_the_left_most_hop_when_all_are_proxies(self) -> None:
        assert resolve_client_ip("127.0.0.1", "10.0.0.5, 10.0.0.6", PROXIES) == "10.0.0.5"

    def test_refuses_garbage_in_the_header(self) -> None:
        assert resolve_client_ip("127.0.0.1", "not-an-ip", LOOPBACK) == "127.0.0.1"

    def test_strips_ports_and_brackets(self) -> None:
        assert resolve_client_ip("127.0.0.1", "198.51.100.1:5555", LOOPBACK) == "198.51.100.1"
        assert resolve_client_ip("127.0.0.1", "[2001:db8::1]:443", LOOPBACK) == "2001:db8::1"

    def test_unwraps_ipv4_mapped_ipv6_peers(self) -> None:
        assert resolve_client_ip("::ffff:127.0.0.1", "198.51.100.1", LOOPBACK) == "198.51.100.1"

    def test_trusts_ipv6_loopback_by_default(self) -> None:
        assert resolve_client_ip("::1", "2001:db8::7", LOOPBACK) == "2001:db8::7"


class TestParseTrusted:
    def test_accepts_addresses_and_networks(self) -> None:
        assert len(parse_trusted("127.0.0.1, 10.0.0.0/8 ,::1")) == 3

    def test_refuses_a_bad_entry(self) -> None:
        with pytest.raises(ValueError):
            parse_trusted("127.0.0.1,not-a-network")
