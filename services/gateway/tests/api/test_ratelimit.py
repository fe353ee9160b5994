"""Rate limits through real gateways sharing a real Redis; Redis failure fails open."""

from __future__ import annotations

import uuid

import aiohttp

from empora_common.testing.tokens import TestSigner

from ..standins import GatewayFactory, PrivateRedis, Upstreams

# A refill so slow that no token comes back during a test: the boundary is exact.
FROZEN = 0.0001


class TestPerClientIpBucket:
    async def test_the_burst_is_exact_across_two_gateways_sharing_redis(
        self,
        http: aiohttp.ClientSession,
        make_gateway: GatewayFactory,
        upstreams: Upstreams,
    ) -> None:
        limits = {"RATE_LIMIT_DEFAULT_BURST": 10, "RATE_LIMIT_DEFAULT_REFILL": FROZEN}
        first, one = await make_gateway(**limits)
        _, two = await make_gateway(**limits, REDIS_PREFIX=first.settings.redis_prefix)
        statuses: list[int] = []
        remaining: list[str] = []
        for i in range(14):
            server = one if i % 2 == 0 else two
            async with http.get(server.url + "/api/products") as resp:
                statuses.append(resp.status)
                remaining.append(resp.headers.get("RateLimit-Remaining", ""))
                assert resp.headers["RateLimit-Limit"] == "10"
                if resp.status == 429:
                    body = await resp.json(content_type=None)
                    assert body["type"] == "https://empora.dev/problems/rate-limited"
                    assert int(resp.headers["Retry-After"]) >= 1
                    assert int(resp.headers["RateLimit-Reset"]) >= 1
        assert statuses == [200] * 10 + [429] * 4
        assert remaining[:10] == [str(n) for n in range(9, -1, -1)]
        assert upstreams["product"].count() == 10

    async def test_separate_prefixes_do_not_share_buckets(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory
    ) -> None:
        limits = {"RATE_LIMIT_DEFAULT_BURST": 2, "RATE_LIMIT_DEFAULT_REFILL": FROZEN}
        _, one = await make_gateway(**limits)
        _, two = await make_gateway(**limits)
        for server in (one, one, two, two):
            async with http.get(server.url + "/api/cart") as resp:
                assert resp.status == 200

    async def test_probes_are_not_limited(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory
    ) -> None:
        _, server = await make_gateway(RATE_LIMIT_DEFAULT_BURST=1, RATE_LIMIT_DEFAULT_REFILL=FROZEN)
        for _ in range(3):
            async with http.get(server.url + "/health/live") as resp:
                assert resp.status == 200

    async def test_disabled_limits_add_no_headers(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory
    ) -> None:
        _, server = await make_gateway(RATE_LIMIT_ENABLED=False, RATE_LIMIT_DEFAULT_BURST=1)
        for _ in range(3):
            async with http.get(server.url + "/api/products") as resp:
                assert resp.status == 200
                assert "RateLimit-Limit" not in resp.headers


class TestCheckoutBucket:
    async def test_checkout_is_limited_per_user(
        self,
        http: aiohttp.ClientSession,
        make_gateway: GatewayFactory,
        upstreams: Upstreams,
        signer: TestSigner,
    ) -> None:
        _, server = await make_gateway(
            RATE_LIMIT_CHECKOUT_BURST=3, RATE_LIMIT_CHECKOUT_REFILL=FROZEN
        )
        alice = {"Authorization": f"Bearer {signer.token(uuid.uuid4())}"}
        bob = {"Authorization": f"Bearer {signer.token(uuid.uuid4())}"}
        statuses = []
        for _ in range(4):
            async with http.post(server.url + "/api/orders", json={}, headers=alice) as resp:
                statuses.append(resp.status)
                assert resp.headers["RateLimit-Limit"] == "3"
        assert statuses == [200, 200, 200, 429]
        async with http.post(server.url + "/api/orders", json={}, headers=bob) as resp:
            assert resp.status == 200
        # Other routes of the same user use the per-IP bucket.
        async with http.get(server.url + "/api/orders", headers=alice) as resp:
            assert resp.status == 200
            assert resp.headers["RateLimit-Limit"] == "1000"
        assert upstreams["order"].count() == 5


class TestRedisFailure:
    async def test_requests_are_still_served_when_redis_stops(
        self,
        http: aiohttp.ClientSession,
        make_gateway: GatewayFactory,
        upstreams: Upstreams,
        private_redis: PrivateRedis,
    ) -> None:
        gateway, server = await make_gateway(REDIS_URL=private_redis.url)
        async with http.get(server.url + "/api/products") as resp:
            assert resp.status == 200
            assert resp.headers["RateLimit-Remaining"] == "999"
        private_redis.kill()
        for _ in range(3):
            async with http.get(server.url + "/api/products") as resp:
                assert resp.status == 200
                assert "RateLimit-Remaining" not in resp.headers
        assert upstreams["product"].count() == 4
        fail_open = gateway.metrics.registry.get_sample_value("gateway_rate_limit_fail_open_total")
        assert fail_open is not None and fail_open >= 3
        async with http.get(server.url + "/api/health/gateway") as resp:
            body = await resp.json()
        assert body["checks"]["redis"] != "ok"
        assert body["status"] == "degraded"

    async def test_limits_resume_when_redis_comes_back(
        self,
        http: aiohttp.ClientSession,
        make_gateway: GatewayFactory,
        private_redis: PrivateRedis,
    ) -> None:
        _, server = await make_gateway(REDIS_URL=private_redis.url, GATEWAY_REDIS_RETRY_AFTER=0)
        private_redis.kill()
        async with http.get(server.url + "/api/products") as resp:
            assert resp.status == 200
        await private_redis.start()  # a fresh server on the same port: no script, no keys
        async with http.get(server.url + "/api/products") as resp:
            assert resp.status == 200
            assert resp.headers["RateLimit-Remaining"] == "999"
