"""Forwarding through a real gateway: headers, request ids, bodies, limits, timeouts, retries."""

from __future__ import annotations

import asyncio
import os

import aiohttp
import pytest

from empora_common.testing.infra import free_port
from empora_common.testing.tokens import TestSigner

from ..standins import GatewayFactory, Upstreams

pytestmark = pytest.mark.usefixtures("upstreams")


class TestRequestHeaders:
    async def test_strips_identity_hop_by_hop_and_forwarding_headers(
        self,
        http: aiohttp.ClientSession,
        gateway_url: str,
        upstreams: Upstreams,
        signer: TestSigner,
    ) -> None:
        token = signer.token()
        headers = {
            "Authorization": f"Bearer {token}",
            "X-User-ID": "00000000-0000-0000-0000-000000000001",
            "X-User-Roles": "admin",
            "X-User-Email": "boss@example.com",
            "X-Internal-Token": "guess",
            "X-Internal-Whatever": "x",
            "X-Forwarded-For": "1.2.3.4",
            "X-Real-IP": "1.2.3.4",
            "Forwarded": "for=1.2.3.4",
            "Proxy-Authorization": "Basic Zm9vOmJhcg==",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Connection": "keep-alive, X-Secret-Hop",
            "X-Secret-Hop": "1",
            "X-Custom": "kept",
            "Accept-Language": "fr",
        }
        async with http.get(gateway_url + "/api/products/1", headers=headers) as resp:
            assert resp.status == 200
        seen = upstreams["product"].hits[0].headers
        for name in (
            "x-user-id",
            "x-user-roles",
            "x-user-email",
            "x-internal-token",
            "x-internal-whatever",
            "x-real-ip",
            "forwarded",
            "proxy-authorization",
            "keep-alive",
            "te",
            "x-secret-hop",
        ):
            assert name not in seen, name
        assert seen["x-forwarded-for"] == "127.0.0.1"
        assert seen["x-forwarded-proto"] == "http"
        assert seen["authorization"] == f"Bearer {token}"
        assert seen["x-custom"] == "kept"
        assert seen["accept-language"] == "fr"
        assert seen["host"] == upstreams.servers["product"].url.removeprefix("http://")

    async def test_adds_no_headers_the_client_did_not_send(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        async with http.post(
            gateway_url + "/api/cart/items", data=b'{"a":1}', skip_auto_headers=["Content-Type"]
        ) as resp:
            assert resp.status == 200
        seen = upstreams["cart"].hits[0].headers
        assert "content-type" not in seen
        assert "accept-encoding" not in seen or seen["accept-encoding"] == "gzip, deflate"
        assert seen["content-length"] == "7"

    async def test_trusted_proxy_chain_gives_the_client_address(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(TRUSTED_PROXIES="127.0.0.1,10.0.0.0/8")
        headers = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7, 10.1.2.3"}
        async with http.get(server.url + "/api/products", headers=headers) as resp:
            assert resp.status == 200
        assert upstreams["product"].hits[0].headers["x-forwarded-for"] == "203.0.113.7"

    async def test_untrusted_peer_cannot_choose_its_address(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(TRUSTED_PROXIES="10.0.0.0/8")
        headers = {"X-Forwarded-For": "203.0.113.7"}
        async with http.get(server.url + "/api/products", headers=headers) as resp:
            assert resp.status == 200
        assert upstreams["product"].hits[0].headers["x-forwarded-for"] == "127.0.0.1"


class TestResponseHeaders:
    async def test_keeps_application_headers_and_replaces_edge_ones(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        async with http.post(gateway_url + "/api/cart/cookie") as resp:
            assert resp.status == 201
            assert resp.headers["X-Cart-Token"] == "cart-token-1"
            assert "session=abc" in resp.headers["Set-Cookie"]
            assert resp.headers.getall("Access-Control-Allow-Origin", []) == []
            assert len(resp.headers.getall("Server", [])) <= 1
            assert len(resp.headers.getall("Date")) == 1

    async def test_every_answer_carries_the_security_headers(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        for path in ("/api/products/1", "/api/nowhere", "/api/health/gateway", "/internal/x"):
            async with http.get(gateway_url + path) as resp:
                assert resp.headers["X-Content-Type-Options"] == "nosniff", path
                assert resp.headers["Referrer-Policy"] == "no-referrer", path
                assert resp.headers["X-Frame-Options"] == "DENY", path
                assert "default-src 'none'" in resp.headers["Content-Security-Policy"], path
                assert "Strict-Transport-Security" not in resp.headers, path

    async def test_hsts_only_behind_a_trusted_tls_proxy(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, trusting = await make_gateway(TRUSTED_PROXIES="127.0.0.1")
        _, plain = await make_gateway()
        tls = {"X-Forwarded-Proto": "https"}
        async with http.get(trusting.url + "/api/products", headers=tls) as resp:
            assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        assert upstreams["product"].hits[0].headers["x-forwarded-proto"] == "https"
        async with http.get(plain.url + "/api/products", headers=tls) as resp:
            assert "Strict-Transport-Security" not in resp.headers


class TestRequestId:
    async def test_a_sane_caller_id_is_forwarded_and_returned(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        rid = "client-abc.123:x"
        async with http.get(gateway_url + "/api/orders", headers={"X-Request-ID": rid}) as resp:
            assert resp.headers["X-Request-ID"] == rid
            assert resp.headers.getall("X-Request-ID") == [rid]
        assert upstreams["order"].hits[0].headers["x-request-id"] == rid

    @pytest.mark.parametrize("sent", [None, "bad id with spaces", "x" * 200, "<script>"])
    async def test_a_new_id_replaces_a_missing_or_insane_one(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams, sent: str | None
    ) -> None:
        headers = {"X-Request-ID": sent} if sent is not None else {}
        async with http.get(gateway_url + "/api/orders", headers=headers) as resp:
            rid = resp.headers["X-Request-ID"]
        assert rid != sent
        assert len(rid) == 32
        assert upstreams["order"].hits[0].headers["x-request-id"] == rid

    async def test_problem_answers_carry_the_id_in_body_and_header(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        async with http.get(gateway_url + "/api/nope", headers={"X-Request-ID": "r-1"}) as resp:
            body = await resp.json(content_type=None)
        assert resp.headers["X-Request-ID"] == "r-1"
        assert body["request_id"] == "r-1"
        assert body["instance"] == "/api/nope"


class TestBodies:
    async def test_json_body_and_content_type_arrive_intact(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        async with http.post(gateway_url + "/api/auth/register", json={"email": "a@b.c"}) as resp:
            assert resp.status == 200
        hit = upstreams["auth"].hits[0]
        assert hit.body == b'{"email": "a@b.c"}'
        assert hit.headers["content-type"] == "application/json"

    async def test_a_large_body_is_streamed_through_unchanged(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        payload = os.urandom(900_000)
        async with http.put(gateway_url + "/api/products/1/blob", data=payload) as resp:
            assert resp.status == 200
        hit = upstreams["product"].hits[0]
        assert hit.body == payload
        assert hit.headers["content-length"] == str(len(payload))

    async def test_a_chunked_body_is_forwarded_with_its_length(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        async def chunks():  # type: ignore[no-untyped-def]
            for i in range(10):
                yield f"part-{i};".encode()
                await asyncio.sleep(0)

        async with http.post(gateway_url + "/api/orders/x", data=chunks()) as resp:
            assert resp.status == 200
        hit = upstreams["order"].hits[0]
        assert hit.body == b"".join(f"part-{i};".encode() for i in range(10))
        assert hit.headers["content-length"] == str(len(hit.body))
        assert "transfer-encoding" not in hit.headers

    async def test_a_streamed_response_arrives_whole(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        async with http.get(gateway_url + "/api/products/stream") as resp:
            text = await resp.text()
        assert text == "".join(f"chunk-{i};" for i in range(5))

    async def test_a_large_response_arrives_whole(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        async with http.get(gateway_url + "/api/products/big") as resp:
            body = await resp.read()
        assert resp.headers["Content-Length"] == str(262_144)
        assert body == b"x" * 262_144

    async def test_declared_oversized_body_is_refused_before_the_upstream(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(MAX_BODY_BYTES=1000)
        async with http.post(server.url + "/api/products", data=b"x" * 1001) as resp:
            body = await resp.json(content_type=None)
        assert resp.status == 413
        assert body["type"] == "https://empora.dev/problems/payload-too-large"
        assert upstreams["product"].count() == 0

    async def test_streamed_oversized_body_is_refused_before_the_upstream(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(MAX_BODY_BYTES=1000)

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(20):
                yield b"y" * 100

        async with http.post(server.url + "/api/products", data=chunks()) as resp:
            assert resp.status == 413
        assert upstreams["product"].count() == 0

    async def test_a_body_at_the_limit_passes(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(MAX_BODY_BYTES=1000)
        async with http.post(server.url + "/api/products", data=b"x" * 1000) as resp:
            assert resp.status == 200
        assert len(upstreams["product"].hits[0].body) == 1000

    async def test_a_client_that_stops_sending_gets_408(
        self, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(GATEWAY_CLIENT_BODY_TIMEOUT=0.3)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"POST /api/products HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"a" * 10
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        assert status_line.startswith(b"HTTP/1.1 408")


class TestSlowHead:
    async def test_a_client_that_sends_its_head_too_slowly_gets_408(
        self, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(GATEWAY_CLIENT_HEADER_TIMEOUT=0.3)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /api/products HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408")
        assert upstreams["product"].count() == 0


class TestRequestLimits:
    async def test_oversized_headers_get_431_before_the_upstream(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        headers = {f"X-Pad-{i}": "p" * 1000 for i in range(20)}
        async with http.get(gateway_url + "/api/products", headers=headers) as resp:
            body = await resp.json(content_type=None)
        assert resp.status == 431
        assert body["type"] == "https://empora.dev/problems/headers-too-large"
        assert upstreams["product"].count() == 0

    @pytest.mark.parametrize(
        ("limit", "message"),
        [
            ("101", "limit must be between 1 and 100"),
            ("1000", "limit must be between 1 and 100"),
            ("0", "limit must be between 1 and 100"),
            ("-1", "limit must be between 1 and 100"),
            ("abc", "limit must be an integer"),
            ("", "limit must be an integer"),
        ],
    )
    async def test_list_limit_out_of_range_is_422_before_the_upstream(
        self,
        http: aiohttp.ClientSession,
        gateway_url: str,
        upstreams: Upstreams,
        limit: str,
        message: str,
    ) -> None:
        async with http.get(gateway_url + f"/api/products?page=1&limit={limit}") as resp:
            body = await resp.json(content_type=None)
        assert resp.status == 422
        assert body["errors"][0] == {"field": "limit", "message": message}
        assert upstreams["product"].count() == 0

    async def test_list_limit_in_range_passes(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        async with http.get(gateway_url + "/api/orders?limit=100") as resp:
            assert resp.status == 200
        assert upstreams["order"].count() == 1


class TestTimeouts:
    async def test_a_slow_upstream_gets_504_and_a_get_is_not_retried_past_the_deadline(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(GATEWAY_UPSTREAM_TIMEOUT=0.3)
        async with http.get(server.url + "/api/products/sleep?seconds=2") as resp:
            body = await resp.json(content_type=None)
        assert resp.status == 504
        assert body["type"] == "https://empora.dev/problems/gateway-timeout"
        assert upstreams["product"].count("/sleep") == 1

    async def test_a_post_that_timed_out_is_never_retried(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(GATEWAY_UPSTREAM_TIMEOUT=0.3)
        async with http.post(server.url + "/api/cart/items/sleep?seconds=1", json={}) as resp:
            assert resp.status == 504
        await asyncio.sleep(0.5)  # a retry, if any, would have arrived by now
        assert upstreams["cart"].count("/sleep") == 1

    async def test_checkout_gets_the_long_timeout(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        _, server = await make_gateway(
            GATEWAY_UPSTREAM_TIMEOUT=0.2, GATEWAY_CHECKOUT_TIMEOUT=10, RATE_LIMIT_ENABLED=False
        )
        async with http.post(server.url + "/api/orders?sleep=0.5", json={}) as resp:
            assert resp.status == 200
        async with http.get(server.url + "/api/orders?sleep=0.5") as resp:
            assert resp.status == 504


class TestUpstreamFailures:
    async def test_a_refused_connection_is_503(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory
    ) -> None:
        gateway, server = await make_gateway(PRODUCT_URL=f"http://127.0.0.1:{free_port()}")
        async with http.post(server.url + "/api/products", json={}) as resp:
            body = await resp.json(content_type=None)
        assert resp.status == 503
        assert body["type"] == "https://empora.dev/problems/service-unavailable"
        assert "127.0.0.1" not in body["detail"]
        # Nothing reached the service, so even a POST may be retried once.
        retries = gateway.metrics.registry.get_sample_value(
            "gateway_upstream_retries_total", {"upstream": "product"}
        )
        assert retries == 1

    async def test_a_get_answered_503_is_retried_once(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        upstreams["product"].fail_status = 503
        async with http.get(gateway_url + "/api/products/fail") as resp:
            assert resp.status == 503
        assert upstreams["product"].count("/fail") == 2

    async def test_a_post_answered_503_is_not_retried(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        upstreams["product"].fail_status = 503
        async with http.post(gateway_url + "/api/products/fail", json={}) as resp:
            assert resp.status == 503
        assert upstreams["product"].count("/fail") == 1

    async def test_an_upstream_500_passes_through_unretried(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        async with http.get(gateway_url + "/api/products/fail") as resp:
            assert resp.status == 500
            assert await resp.json() == {"error": "boom"}
        assert upstreams["product"].count("/fail") == 1


class TestHead:
    async def test_head_is_a_get_without_the_body(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        async with http.get(gateway_url + "/api/products/big") as resp:
            got = await resp.read()
            get_length = resp.headers["Content-Length"]
        async with http.head(gateway_url + "/api/products/big") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Length"] == get_length == str(len(got))
            assert resp.headers["X-Request-ID"]
            assert await resp.read() == b""
        assert [h.method for h in upstreams["product"].hits] == ["GET", "GET"]

    async def test_head_of_the_gateways_own_routes(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        for path in ("/api/health", "/api/openapi.json"):
            async with http.head(gateway_url + path) as resp:
                assert resp.status in (200, 503), path
                assert int(resp.headers["Content-Length"]) > 0
                assert await resp.read() == b""

    async def test_head_answers_what_get_would(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        async with http.head(gateway_url + "/api/products/notfound") as resp:
            assert resp.status == 404
        async with http.head(gateway_url + "/api/nowhere") as resp:
            assert resp.status == 404
            assert resp.headers["Content-Type"] == "application/problem+json"
