"""The cart's settings."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from empora_cart.settings import CartSettings


class TestCartSettings:
    def test_defaults_follow_the_contract(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("CART_PORT", "TRUSTED_PROXIES", "CART_USER_TTL_SECONDS"):
            monkeypatch.delenv(name, raising=False)

        settings = CartSettings(_env_file=None)

        assert settings.service_name == "cart"
        assert settings.port == 3004
        assert settings.user_cart_ttl_seconds == 30 * 24 * 3600
        assert settings.guest_cart_ttl_seconds == 7 * 24 * 3600
        assert settings.max_line_quantity == 99
        assert settings.max_lines == 100
        assert settings.guest_carts_per_ip == 1000
        assert settings.trusted_proxy_networks == (
            ipaddress.ip_network("127.0.0.1/32"),
            ipaddress.ip_network("::1/128"),
        )

    def test_port_comes_from_cart_port(self) -> None:
        assert CartSettings(CART_PORT=4004, _env_file=None).port == 4004

    def test_trusted_proxies_take_networks(self) -> None:
        settings = CartSettings(TRUSTED_PROXIES="10.0.0.0/8, 192.0.2.1", _env_file=None)

        assert ipaddress.ip_address("10.9.8.7") in settings.trusted_proxy_networks[0]

    def test_refuses_a_malformed_trusted_proxy(self) -> None:
        with pytest.raises(ValidationError):
            CartSettings(TRUSTED_PROXIES="10.0.0.0/8, localhost", _env_file=None)

    def test_refuses_remembering_orders_for_less_than_7_days(self) -> None:
        with pytest.raises(ValidationError):
            CartSettings(CART_ORDER_MARKER_TTL_SECONDS=3600, _env_file=None)
