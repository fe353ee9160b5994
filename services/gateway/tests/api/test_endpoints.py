"""The gateway's own routes: docs page, merged OpenAPI document, metrics."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from typing import Any

import aiohttp
import pytest

from ..standins import GatewayFactory, Upstreams


def _doc(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _op(ref: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": "op",
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {"application/json": {"schema": {"$ref": ref}}},
                }
            },
        }
    }


class TestDocsPage:
    async def test_serves_a_page_whose_inline_code_the_csp_allows_exactly(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        async with http.get(gateway_url + "/api/docs") as resp:
            html = await resp.text()
            csp = resp.headers.getall("Content-Security-Policy")
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/html")
        assert len(csp) == 1
        assert "default-src 'none'" in csp[0]
        assert "frame-ancestors 'none'" in csp[0]
        assert "http" not in csp[0]  # no third-party origin
        script = re.search(r"<script>(.*)</script>", html, re.S)
        style = re.search(r"<style>(.*)</style>", html, re.S)
        assert script is not None and style is not None
        for source, directive in ((script.group(1), "script-src"), (style.group(1), "style-src")):
            digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
            assert f"{directive} 'sha256-{digest}'" in csp[0]
        assert "/api/openapi.json" in html
        assert "src=" not in html  # nothing loaded from elsewhere


class TestMergedOpenApi:
    async def test_merges_public_paths_and_components_of_every_service(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        upstreams["product"].openapi = _doc(
            {
                "/api/products": _op("#/components/schemas/Page"),
                "/internal/products/lookup": _op("#/components/schemas/Page"),
                "/health": _op("#/components/schemas/Page"),
            },
            {"Page": {"type": "object", "title": "ProductPage"}, "Money": {"type": "object"}},
        )
        upstreams["order"].openapi = _doc(
            {"/api/orders": _op("#/components/schemas/Page")},
            {"Page": {"type": "object", "title": "OrderPage"}, "Money": {"type": "object"}},
        )
        _, server = await make_gateway()
        async with http.get(server.url + "/api/openapi.json") as resp:
            doc = await resp.json()
        assert resp.status == 200
        assert "/api/products" in doc["paths"]
        assert "/api/orders" in doc["paths"]
        assert "/api/health" in doc["paths"]  # the gateway's own
        assert not any("internal" in p for p in doc["paths"])
        assert "/health" not in doc["paths"]
        schemas = doc["components"]["schemas"]
        assert schemas["Money"] == {"type": "object"}  # identical: shared
        assert schemas["Page"]["title"] == "OrderPage"
        assert schemas["ProductPage"]["title"] == "ProductPage"  # clash: renamed
        product_ref = doc["paths"]["/api/products"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]["$ref"]
        assert product_ref == "#/components/schemas/ProductPage"
        assert doc["info"]["x-empora-unavailable"] == ["auth", "cart", "notification"]


class TestMetrics:
    async def test_exposes_request_and_gateway_series(
        self, http: aiohttp.ClientSession, make_gateway: GatewayFactory
    ) -> None:
        _, server = await make_gateway()
        async with http.get(server.url + "/api/products/1") as resp:
            assert resp.status == 200
        async with http.get(server.url + "/metrics") as resp:
            text = await resp.text()
        assert resp.status == 200
        assert (
            'http_requests_total{method="GET",route="product",service="gateway",status="200"} 1.0'
            in text
        )
        assert "gateway_upstream_duration_seconds_bucket" in text
        assert 'gateway_circuit_state{upstream="cart"} 0.0' in text
        assert "gateway_rate_limit_fail_open_total 0.0" in text

    async def test_strange_methods_do_not_create_new_series(
        self, http: aiohttp.ClientSession, gateway_url: str
    ) -> None:
        async with http.request("PROPFIND", gateway_url + "/api/products") as resp:
            assert resp.status < 500
        async with http.get(gateway_url + "/metrics") as resp:
            text = await resp.text()
        assert 'method="OTHER"' in text
        assert "PROPFIND" not in text


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
class TestDocsPageInChromium:
    async def test_renders_every_route_without_a_csp_violation(
        self, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        from playwright.async_api import async_playwright

        upstreams["product"].openapi = _doc(
            {"/api/products": _op("#/components/schemas/Page")},
            {"Page": {"type": "object", "properties": {"total": {"type": "integer"}}}},
        )
        _, server = await make_gateway()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            try:
                page = await browser.new_page()
                problems: list[str] = []
                page.on(
                    "console",
                    lambda msg: problems.append(msg.text) if msg.type == "error" else None,
                )
                page.on("pageerror", lambda exc: problems.append(str(exc)))
                await page.goto(server.url + "/api/docs")
                await page.wait_for_selector("details summary code", timeout=10_000)
                routes = await page.locator("details summary code").all_inner_texts()
                await page.fill("#filter", "health")
                visible = await page.locator("details:visible").count()
            finally:
                await browser.close()
        assert "/api/products" in routes
        assert "/api/health" in routes
        assert visible == 2  # the filter left the two health routes
        assert problems == []


class TestAccountPages:
    @pytest.mark.parametrize("path", ["/verify-email", "/reset-password"])
    async def test_serve_a_self_contained_page_that_is_never_cached(
        self, http: aiohttp.ClientSession, gateway_url: str, path: str
    ) -> None:
        async with http.get(gateway_url + path + "?token=abc") as resp:
            html = await resp.text()
            csp = resp.headers["Content-Security-Policy"]
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/html")
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        script = re.search(r"<script>(.*)</script>", html, re.S)
        assert script is not None
        digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
        assert f"script-src 'sha256-{digest}'" in csp and "http" not in csp


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
class TestAccountPagesInChromium:
    async def test_buttons_call_the_public_api_with_the_token(
        self, make_gateway: GatewayFactory, upstreams: Upstreams
    ) -> None:
        from playwright.async_api import async_playwright

        _, server = await make_gateway()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            try:
                page = await browser.new_page()
                problems: list[str] = []
                page.on("pageerror", lambda exc: problems.append(str(exc)))
                page.on(
                    "console",
                    lambda msg: problems.append(msg.text) if msg.type == "error" else None,
                )
                await page.goto(server.url + "/verify-email?token=tok-123")
                await page.click("button")
                await page.wait_for_selector("#result.ok", timeout=10_000)
                await page.goto(server.url + "/reset-password?token=tok-456")
                await page.fill("#password", "a brand new passphrase")
                await page.click("button")
                await page.wait_for_selector("#result.ok", timeout=10_000)
            finally:
                await browser.close()
        assert problems == []
        bodies = [h.body for h in upstreams["auth"].hits if h.method == "POST"]
        assert b'{"token":"tok-123"}' in bodies
        assert b'{"token":"tok-456","new_password":"a brand new passphrase"}' in bodies
