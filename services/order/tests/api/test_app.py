"""The service's plumbing routes: health, metrics and the OpenAPI document."""

from __future__ import annotations

from order_testkit import Api


class TestServiceRoutes:
    async def test_health_live_and_ready(self, api: Api) -> None:
        live = await api.call("GET", "/health/live")
        ready = await api.call("GET", "/health/ready")
        assert (live.status, ready.status) == (200, 200)
        assert ready.body["checks"]["database"] == "ok"

    async def test_openapi_documents_every_order_route(self, api: Api) -> None:
        doc = await api.call("GET", "/openapi.json")
        assert doc.status == 200
        paths = doc.body["paths"]
        assert "post" in paths["/api/orders"] and "get" in paths["/api/orders"]
        for route in ("{order_id}", "{order_id}/cancel", "{order_id}/ship", "{order_id}/deliver"):
            assert f"/api/orders/{route}" in paths

    async def test_metrics_count_requests(self, api: Api) -> None:
        await api.call("GET", "/api/orders", headers=api.buyer().headers)
        metrics = await api.session.get("/metrics")
        assert 'route="/api/orders"' in await metrics.text()

    async def test_internal_routes_do_not_exist_here(self, api: Api) -> None:
        reply = await api.call("GET", "/internal/orders")
        assert reply.status == 404
        assert reply.headers["Content-Type"] == "application/problem+json"
