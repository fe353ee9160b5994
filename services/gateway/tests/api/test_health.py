"""``GET /api/health`` aggregates real services concurrently; a hung one cannot hang it."""

from __future__ import annotations

import aiohttp

from empora_common.testing.infra import free_port

from ..standins import GatewayFactory, Upstreams

SERVICES = {"gateway", "auth", "product", "cart", "order", "notification"}


class TestPlatformHealth:
    async def test_all_ok_is_200_with_every_service(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        async with http.get(gateway_url + "/api/health") as resp:
            body = await resp.json()
        assert resp.status == 200
        assert body["status"] == "ok"
        assert set(body["services"]) == SERVICES
        for name, entry in body["services"].items():
            assert entry["status"] == "ok", name
            assert isinstance(entry["latency_ms"], float | int)
            assert isinstance(entry["checks"], dict)
        assert body["services"]["product"]["checks"] == {"database": "ok"}
        assert body["services"]["gateway"]["checks"] == {"redis": "ok"}
        assert body["checked_at"].endswith("+00:00")

    async def test_one_hung_and_one_dead_service_give_503_naming_them(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        upstreams["cart"].health_delay = 3.0
        _, server = await make_gateway(
            GATEWAY_HEALTH_TIMEOUT=0.3, ORDER_URL=f"http://127.0.0.1:{free_port()}"
        )
        # Generous client timeout: far below the hung service's delay, far above ours.
        timeout = aiohttp.ClientTimeout(total=2.5)
        async with http.get(server.url + "/api/health", timeout=timeout) as resp:
            body = await resp.json()
        assert resp.status == 503
        assert body["status"] == "degraded"
        assert body["services"]["cart"]["status"] == "down"
        assert body["services"]["cart"]["error"] == "timeout"
        assert body["services"]["order"]["status"] == "down"
        assert body["services"]["order"]["error"] == "unreachable"
        assert body["services"]["product"]["status"] == "ok"
        assert body["failing"] == ["cart", "order"]

    async def test_a_degraded_service_makes_the_platform_503(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        upstreams["notification"].health = {
            "status": "degraded",
            "checks": {"database": "ok", "broker": "down"},
        }
        async with http.get(gateway_url + "/api/health") as resp:
            body = await resp.json()
        assert resp.status == 503
        assert body["services"]["notification"]["status"] == "degraded"
        assert body["services"]["notification"]["checks"]["broker"] == "down"
        assert body["failing"] == ["notification"]

    async def test_a_service_answering_503_down_is_down(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        upstreams["auth"].health = {"status": "down", "checks": {"database": "down"}}
        upstreams["auth"].health_status = 503
        async with http.get(gateway_url + "/api/health") as resp:
            body = await resp.json()
        assert resp.status == 503
        assert body["services"]["auth"]["status"] == "down"

    async def test_everything_down_is_down(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory
    ) -> None:
        dead = {
            f"{name.upper()}_URL": f"http://127.0.0.1:{free_port()}"
            for name in ("auth", "product", "cart", "order", "notification")
        }
        _, server = await make_gateway(**dead)
        async with http.get(server.url + "/api/health") as resp:
            body = await resp.json()
        assert resp.status == 503
        assert body["status"] == "down"


class TestGatewayHealth:
    async def test_reports_itself_and_its_redis(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        async with http.get(gateway_url + "/api/health/gateway") as resp:
            body = await resp.json()
        assert resp.status == 200
        assert body["status"] == "ok"
        assert body["checks"] == {"redis": "ok"}
        assert body["rate_limits"] == "ok"
        assert set(body["circuits"]) == SERVICES - {"gateway"}

    async def test_probes_answer(self, http: aiohttp.ClientSession, gateway_url: str) -> None:
        for path in ("/health/live", "/health/ready", "/health"):
            async with http.get(gateway_url + path) as resp:
                assert resp.status == 200, path
                assert (await resp.json())["status"] == "ok"
