"""Process-level checks of the app module."""

from __future__ import annotations

import pytest

from empora_gateway.app import create_app, uvicorn_rewrites_client_addresses
from empora_gateway.settings import GatewaySettings


class TestUvicornProxyHeaderWarning:
    def test_plain_uvicorn_rewrites_addresses(self) -> None:
        argv = ["/venv/bin/uvicorn", "empora_gateway.app:create_app", "--factory"]
        assert uvicorn_rewrites_client_addresses(argv, {})

    def test_no_proxy_headers_or_python_m_empora_gateway_do_not(self) -> None:
        no_proxy = ["/venv/bin/uvicorn", "x:create_app", "--factory", "--no-proxy-headers"]
        assert not uvicorn_rewrites_client_addresses(no_proxy, {})
        assert not uvicorn_rewrites_client_addresses(["-m", "empora_gateway"], {})
        assert not uvicorn_rewrites_client_addresses(
            ["/venv/bin/uvicorn", "x"], {"FORWARDED_ALLOW_IPS": ""}
        )


class TestUpstreamUrls:
    async def test_an_https_upstream_is_refused_at_start(self) -> None:
        gateway = create_app(GatewaySettings(PRODUCT_URL="https://product.internal:443"))
        with pytest.raises(ValueError, match="plain http://"):
            await gateway.startup()
        await gateway.shutdown()
