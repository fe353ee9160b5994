"""Prefix routing through a real gateway to real stand-in services."""

from __future__ import annotations

import aiohttp
import pytest

from ..standins import Upstreams

ROUTES = [
    ("/api/auth/login", "auth"),
    ("/api/users", "auth"),
    ("/api/users/42", "auth"),
    ("/api/products", "product"),
    ("/api/products/abc-slug", "product"),
    ("/api/categories/shoes", "product"),
    ("/api/cart", "cart"),
    ("/api/cart/items/1", "cart"),
    ("/api/orders", "order"),
    ("/api/orders/1/cancel", "order"),
    ("/api/notifications", "notification"),
]


class TestPrefixRouting:
    @pytest.mark.parametrize(("path", "service"), ROUTES)
    async def test_forwards_to_the_owning_service_with_the_same_path(
        self,
        http: aiohttp.ClientSession,
        gateway_url: str,
        upstreams: Upstreams,
        path: str,
        service: str,
    ) -> None:
        async with http.get(gateway_url + path + "?page=2&q=red%20shoe") as resp:
            body = await resp.json()
        assert resp.status == 200
        assert body["service"] == service
        assert body["path"] == path
        assert body["query"] == "page=2&q=red%20shoe"
        assert upstreams[service].count() == 1

    async def test_keeps_the_raw_encoded_path(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams
    ) -> None:
        async with http.get(gateway_url + "/api/products/caf%C3%A9") as resp:
            assert resp.status == 200
        assert upstreams["product"].hits[0].path == "/api/products/café"

    @pytest.mark.parametrize(
        "path", ["/api/unknown", "/api/productsx", "/api", "/", "/favicon.ico", "/docs"]
    )
    async def test_unknown_paths_are_404_problems(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams, path: str
    ) -> None:
        async with http.get(gateway_url + path) as resp:
            body = await resp.json(content_type=None)
        assert resp.status == 404
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert body["status"] == 404
        assert body["type"] == "https://empora.dev/problems/not-found"
        assert body["request_id"] == resp.headers["X-Request-ID"]
        assert all(not s.hits for s in upstreams.stand_ins.values())

    @pytest.mark.parametrize(
        "path",
        [
            "/internal/products/lookup",
            "/INTERNAL/products/lookup",
            "/api/products/internal/lookup",
            "/api/products/../../internal/products/lookup",
            "/api/products/%2e%2e/%2e%2e/internal/products/lookup",
            "/api/products/%252e%252e/internal/x",
            "/api/products/..%2Finternal%2Fproducts",
            "/api/cart/%69nternal/carts",
            "/api/products/x/./y",
            "/api/products/x%00y",
        ],
    )
    async def test_internal_and_ambiguous_paths_are_never_proxied(
        self, http: aiohttp.ClientSession, gateway_url: str, upstreams: Upstreams, path: str
    ) -> None:
        async with http.post(
            aiohttp.client.URL(gateway_url + path, encoded=True), json={"ids": []}
        ) as resp:
            body = await resp.json(content_type=None)
        assert resp.status == 404
        assert body["status"] == 404
        assert all(not s.hits for s in upstreams.stand_ins.values())
