"""Circuit breakers through a real gateway: open after 5 failures, fast 503, then recover."""

from __future__ import annotations

import asyncio

import aiohttp

from ..standins import GatewayFactory, Upstreams


class TestCircuitBreaker:
    async def test_opens_after_five_failures_answers_fast_then_recovers(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        gateway, server = await make_gateway(GATEWAY_BREAKER_OPEN_SECONDS=0.5)
        product = upstreams["product"]
        for _ in range(5):
            async with http.post(server.url + "/api/products/fail", json={}) as resp:
                assert resp.status == 500
        async with http.post(server.url + "/api/products/fail", json={}) as resp:
            body = await resp.json(content_type=None)
            assert resp.status == 503
            assert int(resp.headers["Retry-After"]) >= 1
        assert body["type"] == "https://empora.dev/problems/upstream-unavailable"
        assert product.count("/fail") == 5  # the sixth never reached the service
        # Other upstreams are unaffected.
        async with http.get(server.url + "/api/cart") as resp:
            assert resp.status == 200
        async with http.get(server.url + "/api/health/gateway") as resp:
            assert (await resp.json())["circuits"]["product"] == "open"
        async with http.get(server.url + "/metrics") as resp:
            text = await resp.text()
        assert 'gateway_circuit_state{upstream="product"} 1.0' in text

        await asyncio.sleep(0.6)  # the open period (configured 0.5 s) is over: half-open
        async with http.get(server.url + "/api/products/1") as resp:
            assert resp.status == 200
        assert gateway.breakers["product"].state.value == "closed"
        async with http.get(server.url + "/api/products/2") as resp:
            assert resp.status == 200

    async def test_a_failed_probe_opens_the_circuit_again(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        gateway, server = await make_gateway(GATEWAY_BREAKER_OPEN_SECONDS=0.3)
        for _ in range(5):
            async with http.post(server.url + "/api/orders/x/fail", json={}) as resp:
                assert resp.status == 500
        await asyncio.sleep(0.4)
        async with http.post(server.url + "/api/orders/x/fail", json={}) as resp:
            assert resp.status == 500  # the probe went through and failed
        async with http.post(server.url + "/api/orders/x/fail", json={}) as resp:
            assert resp.status == 503
        assert upstreams["order"].count("/fail") == 6
        assert gateway.breakers["order"].state.value == "open"

    async def test_client_errors_never_open_the_circuit(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        gateway, server = await make_gateway()
        for _ in range(8):
            async with http.get(server.url + "/api/cart/notfound") as resp:
                assert resp.status == 404
        assert upstreams["cart"].count("/notfound") == 8
        assert gateway.breakers["cart"].state.value == "closed"

    async def test_a_success_resets_the_failure_count(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        gateway, server = await make_gateway()
        for _ in range(2):
            for _ in range(4):
                async with http.post(server.url + "/api/cart/fail", json={}) as resp:
                    assert resp.status == 500
            async with http.get(server.url + "/api/cart") as resp:
                assert resp.status == 200
        assert gateway.breakers["cart"].state.value == "closed"
        assert upstreams["cart"].count("/fail") == 8
