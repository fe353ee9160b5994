"""CORS decided at the gateway: preflights answered there, credentials never with ``*``."""

from __future__ import annotations

import aiohttp

from ..standins import GatewayFactory, Upstreams

SHOP = "https://shop.example"
PREFLIGHT = {
    "Origin": SHOP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


class TestCors:
    async def test_any_origin_by_default_without_credentials(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        async with http.options(gateway_url + "/api/orders", headers=PREFLIGHT) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert "Access-Control-Allow-Credentials" not in resp.headers
            assert "POST" in resp.headers["Access-Control-Allow-Methods"]
            assert "idempotency-key" in resp.headers["Access-Control-Allow-Headers"]
        assert upstreams["order"].count() == 0  # preflights never reach a service
        async with http.get(gateway_url + "/api/products", headers={"Origin": SHOP}) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert "X-Request-ID" in resp.headers["Access-Control-Expose-Headers"]

    async def test_credentials_echo_an_allowed_origin_never_a_wildcard(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory
    ) -> None:
        _, server = await make_gateway(CORS_ORIGINS=SHOP, CORS_ALLOW_CREDENTIALS=True)
        async with http.options(server.url + "/api/orders", headers=PREFLIGHT) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == SHOP
            assert resp.headers["Access-Control-Allow-Credentials"] == "true"
            assert "Origin" in resp.headers.getall("Vary")
        async with http.get(server.url + "/api/cart", headers={"Origin": SHOP}) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == SHOP
            assert resp.headers["Access-Control-Allow-Credentials"] == "true"

    async def test_other_origins_get_no_cors_grant(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(CORS_ORIGINS=SHOP, CORS_ALLOW_CREDENTIALS=True)
        evil = {**PREFLIGHT, "Origin": "https://evil.example"}
        async with http.options(server.url + "/api/orders", headers=evil) as resp:
            body = await resp.json(content_type=None)
            assert resp.status == 403
            assert "Access-Control-Allow-Origin" not in resp.headers
        assert body["type"] == "https://empora.dev/problems/cors-origin-not-allowed"
        headers = {"Origin": "https://evil.example"}
        async with http.get(server.url + "/api/cart", headers=headers) as resp:
            assert resp.status == 200
            assert "Access-Control-Allow-Origin" not in resp.headers

    async def test_injected_request_header_names_are_not_echoed(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        headers = {**PREFLIGHT, "Access-Control-Request-Headers": "x-a, bad header;evil"}
        async with http.options(gateway_url + "/api/orders", headers=headers) as resp:
            assert resp.status == 204
            assert "evil" not in resp.headers["Access-Control-Allow-Headers"]
