"""The cart app's plumbing: health with Redis as a critical check, metrics, OpenAPI."""

from __future__ import annotations

from typing import Any

from empora_cart.app import create_app
from empora_common.testing.infra import serve


class TestHealth:
    async def test_ready_when_redis_answers(self, api: Any) -> None:
        reply = await api.get("/health/ready")

        assert reply.status == 200
        assert reply.body["status"] == "ok"
        assert reply.body["checks"]["redis"] == "ok"
        assert "database" not in reply.body["checks"]

    async def test_details_name_the_service(self, api: Any) -> None:
        reply = await api.get("/health")

        assert reply.status == 200
        assert reply.body["service"] == "cart"
        assert reply.body["checks"]["redis"] == "ok"

    async def test_down_and_unready_without_redis(self, settings_with: Any, make_api: Any) -> None:
        settings = settings_with(REDIS_URL="redis://127.0.0.1:9/0", HEALTH_CHECK_TIMEOUT=0.5)
        async with serve(create_app(settings)) as server:
            api = make_api(server)
            ready = await api.get("/health/ready")
            details = await api.get("/health")
            live = await api.get("/health/live")

        assert ready.status == 503
        assert ready.body["checks"]["redis"] != "ok"
        assert details.status == 503
        assert details.body["status"] == "down"
        assert live.status == 200

    async def test_a_cart_request_without_redis_is_a_problem_not_a_hang(
        self, settings_with: Any, make_api: Any, user: dict[str, str]
    ) -> None:
        settings = settings_with(REDIS_URL="redis://127.0.0.1:9/0")
        async with serve(create_app(settings)) as server:
            reply = await make_api(server).get("/api/cart", headers=user)

        assert reply.status == 503
        assert reply.body["type"].endswith("/service-unavailable")
        assert reply.headers["Content-Type"].startswith("application/problem+json")
        assert "127.0.0.1" not in str(reply.body)


class TestPlumbing:
    async def test_metrics_count_cart_routes(self, api: Any, user: dict[str, str]) -> None:
        await api.get("/api/cart", headers=user)

        async with api.session.get(api.base_url + "/metrics") as resp:
            text = await resp.text()

        assert resp.status == 200
        assert 'route="/api/cart"' in text

    async def test_request_id_is_echoed(self, api: Any) -> None:
        reply = await api.get("/api/cart", headers={"X-Request-ID": "cart-test-123"})

        assert reply.headers["X-Request-ID"] == "cart-test-123"

    async def test_openapi_lists_the_cart_routes(self, api: Any) -> None:
        reply = await api.get("/openapi.json")

        paths = reply.body["paths"]
        assert set(paths["/api/cart"]) == {"get", "delete"}
        assert set(paths["/api/cart/items/{product_id}"]) == {"patch", "delete"}
        assert "post" in paths["/api/cart/merge"]
        assert "/internal/carts/users/{user_id}/subtract" in paths

    async def test_unknown_route_is_a_404_problem(self, api: Any) -> None:
        reply = await api.get("/api/cart/nope")

        assert reply.status in (404, 405)
        assert reply.headers["Content-Type"].startswith("application/problem+json")
