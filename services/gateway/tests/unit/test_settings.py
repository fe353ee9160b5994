"""Gateway settings from the environment's names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from empora_gateway.settings import GatewaySettings


class TestGatewaySettings:
    def test_defaults_follow_the_contract(self) -> None:
        settings = GatewaySettings()
        assert settings.service_name == "gateway"
        assert settings.port == 3001
        assert settings.rate_limit_default_burst == 1000
        assert settings.rate_limit_default_refill == 500
        assert settings.rate_limit_checkout_burst == 10
        assert settings.rate_limit_checkout_refill == 1
        assert settings.checkout_timeout >= 30
        assert settings.upstream_timeout == 15
        assert settings.trusted_proxies == []

    def test_reads_lists_from_comma_separated_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1")
        monkeypatch.setenv("CORS_ORIGINS", "https://a.example,https://b.example")
        monkeypatch.setenv("GATEWAY_PORT", "4001")
        settings = GatewaySettings()
        assert settings.trusted_proxies == ["10.0.0.0/8", "192.168.1.1"]
        assert settings.cors_origins == ["https://a.example", "https://b.example"]
        assert settings.port == 4001

    def test_refuses_credentials_with_a_wildcard_origin(self) -> None:
        with pytest.raises(ValidationError):
            GatewaySettings(CORS_ORIGINS="*", CORS_ALLOW_CREDENTIALS=True)

    def test_upstreams_have_no_trailing_slash(self) -> None:
        settings = GatewaySettings(PRODUCT_URL="http://p:1/")
        assert settings.upstreams()["product"] == "http://p:1"
        assert set(settings.upstreams()) == {"auth", "product", "cart", "order", "notification"}
