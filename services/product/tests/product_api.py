"""A JSON client of the product service for its tests (imported by the tests' conftest)."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from empora_common.testing.client import JsonClient, Reply
from empora_common.testing.tokens import TestSigner

PROBLEM = "application/problem+json"
INTERNAL_HEADERS = {"X-Internal-Token": "test-internal-token"}


class Api(JsonClient):
    """A small JSON client for the service under test."""

    def __init__(self, session: aiohttp.ClientSession, signer: TestSigner) -> None:
        super().__init__(session)
        self.signer = signer
        self.admin = signer.headers(roles=["admin"])
        self.customer = signer.headers(roles=["customer"])
        self.internal = dict(INTERNAL_HEADERS)

    # --- builders -----------------------------------------------------------------------

    async def create_category(self, name: str, parent_id: str | None = None, **extra: Any) -> Any:
        reply = await self.post(
            "/api/categories",
            json={"name": name, "parent_id": parent_id, **extra},
            headers=self.admin,
        )
        assert reply.status == 201, reply.body
        return reply.body

    async def create_product(
        self, sku: str, name: str | None = None, *, price: int = 1000, stock: int = 0, **extra: Any
    ) -> Any:
        body = {"sku": sku, "name": name or f"Product {sku}", "price": price, **extra}
        if stock:
            body["stock"] = stock
        reply = await self.post("/api/products", json=body, headers=self.admin)
        assert reply.status == 201, reply.body
        return reply.body

    async def reserve(
        self, lines: list[tuple[str, int]], *, reservation_id: str | None = None, **extra: Any
    ) -> Reply:
        return await self.post(
            "/internal/reservations",
            json={
                "reservation_id": reservation_id or str(uuid.uuid4()),
                "lines": [{"product_id": p, "quantity": q} for p, q in lines],
                **extra,
            },
            headers=self.internal,
        )

    async def stock(self, product_id: str) -> Any:
        reply = await self.get(f"/api/products/{product_id}/stock", headers=self.admin)
        assert reply.status == 200, reply.body
        return reply.body


def assert_problem(reply: Reply, status: int, slug: str | None = None) -> None:
    """The reply is the contract's problem+json with this status (and type)."""
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"].startswith(PROBLEM)
    for key in ("type", "title", "status", "detail", "instance", "request_id"):
        assert key in reply.body
    assert reply.body["status"] == status
    if slug is not None:
        assert reply.body["type"] == f"https://empora.dev/problems/{slug}"
