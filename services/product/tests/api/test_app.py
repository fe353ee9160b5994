"""The service's shared plumbing: health, OpenAPI, metrics, request ids, unknown routes."""

from __future__ import annotations

from product_api import Api, assert_problem


class TestApp:
    async def test_openapi_documents_every_route(self, api: Api) -> None:
        reply = await api.get("/openapi.json")
        assert reply.status == 200
        paths = reply.body["paths"]
        for path in (
            "/api/products",
            "/api/products/{id_or_slug}",
            "/api/products/{product_id}",
            "/api/products/{product_id}/stock",
            "/api/products/{product_id}/stock/adjustments",
            "/api/products/{product_id}/stock/movements",
            "/api/categories",
            "/api/categories/{id_or_slug}",
            "/internal/products/lookup",
            "/internal/reservations",
            "/internal/reservations/{reservation_id}/commit",
            "/internal/reservations/{reservation_id}/release",
            "/internal/returns",
        ):
            assert path in paths, path
        assert (await api.get("/docs")).status == 200

    async def test_health_reports_the_empty_catalog(self, api: Api) -> None:
        assert (await api.get("/health/live")).status == 200
        empty = await api.get("/health")
        assert empty.body["status"] == "degraded"
        assert "catalog" in empty.body["checks"]["setup"]
        # Ready only means "can serve": an empty catalog is served fine.
        assert (await api.get("/health/ready")).status == 200
        await api.create_product("H-1")
        assert (await api.get("/health")).body["status"] == "ok"
        ready = await api.get("/health/ready")
        assert ready.status == 200
        assert ready.body["checks"]["database"] == "ok"

    async def test_echoes_a_sane_request_id(self, api: Api) -> None:
        reply = await api.get("/api/products", headers={"X-Request-ID": "abc-123"})
        assert reply.headers["X-Request-ID"] == "abc-123"

    async def test_unknown_routes_and_methods_are_problems(self, api: Api) -> None:
        assert_problem(await api.get("/api/nope"), 404)
        assert_problem(await api.put("/api/products", json={}), 405)

    async def test_metrics_count_requests(self, api: Api) -> None:
        await api.get("/api/products")
        reply = await api.get("/metrics")
        assert 'route="/api/products"' in reply.body
