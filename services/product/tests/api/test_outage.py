"""Without its database the service stays up and answers 503, never 500."""

from __future__ import annotations

from typing import Any

import aiohttp

from empora_common.testing.infra import free_port, serve
from empora_product.app import create_app
from empora_product.settings import ProductSettings


class TestDatabaseOutage:
    async def test_reads_writes_and_readiness_answer_503(
        self, base_env: dict[str, Any], signer: Any
    ) -> None:
        settings = ProductSettings(
            **{
                **base_env,
                "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
                "EMPORA_RUN_WORKERS": False,
                "PRODUCT_CACHE_ENABLED": False,
            }
        )
        async with (
            serve(create_app(settings)) as server,
            aiohttp.ClientSession(base_url=server.url) as http,
        ):
            async with http.get("/health/live") as resp:
                assert resp.status == 200
            async with http.get("/health/ready") as resp:
                assert resp.status == 503
            for method, path, body in (
                ("GET", "/api/products", None),
                ("GET", "/api/products/some-slug", None),
                ("GET", "/api/categories", None),
                ("POST", "/api/products", {"sku": "X-1", "name": "X", "price": 1}),
            ):
                async with http.request(
                    method, path, json=body, headers=signer.headers(roles=["admin"])
                ) as resp:
                    assert resp.status == 503, (path, await resp.text())
                    assert resp.headers["Content-Type"] == "application/problem+json"
                    assert resp.headers["Retry-After"] == "1"
