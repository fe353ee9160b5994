"""The platform client of the order service's integration tests (imported by conftest)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from empora_common.testing.processes import ServiceProcess
from empora_common.testing.tokens import TestSigner

INTERNAL = {"X-Internal-Token": "test-internal-token"}
ADDRESS = {
    "name": "Grace Hopper",
    "line1": "1 Compiler Way",
    "city": "Arlington",
    "region": "VA",
    "postal_code": "22201",
    "country": "US",
}
CONSUMER_QUEUES = ("product.orders", "cart.orders", "cart.products")


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any


@dataclass
class Platform:
    """Running services, a client, and what the tests need to check the ledger."""

    env: dict[str, Any]
    products: list[ServiceProcess]
    cart: ServiceProcess
    orders: list[ServiceProcess]
    http: aiohttp.ClientSession
    signer: TestSigner
    engine: AsyncEngine
    log_dir: Path
    extra: list[ServiceProcess] = field(default_factory=list)
    initial_stock: dict[str, int] = field(default_factory=dict)

    @property
    def admin(self) -> dict[str, str]:
        return self.signer.headers(roles=["admin"])

    def buyer(self) -> tuple[uuid.UUID, dict[str, str]]:
        uid = uuid.uuid4()
        return uid, self.signer.headers(uid, email=f"p-{uid.hex[:8]}@example.com")

    async def call(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, json: Any = None
    ) -> Reply:
        async with self.http.request(method, url, headers=headers, json=json) as resp:
            body = await resp.json(content_type=None)
            return Reply(resp.status, body, resp.headers)

    async def product(self, *, price: int, stock: int) -> str:
        """A new product with stock, created through the product service's admin API."""
        sku = f"T-{uuid.uuid4().hex[:10]}"
        reply = await self.call(
            "POST",
            f"{self.products[0].url}/api/products",
            headers=self.admin,
            json={"sku": sku, "name": f"Item {sku}", "price": price, "stock": stock},
        )
        assert reply.status == 201, reply.body
        pid = str(reply.body["id"])
        self.initial_stock[pid] = stock
        return pid

    async def stock(self, pid: str) -> dict[str, int]:
        reply = await self.call(
            "GET", f"{self.products[1].url}/api/products/{pid}/stock", headers=self.admin
        )
        assert reply.status == 200, reply.body
        return {k: reply.body[k] for k in ("on_hand", "reserved", "available")}

    async def add_to_cart(self, headers: dict[str, str], pid: str, quantity: int) -> None:
        reply = await self.call(
            "POST",
            f"{self.cart.url}/api/cart/items",
            headers=headers,
            json={"product_id": pid, "quantity": quantity},
        )
        assert reply.status in (200, 201), reply.body

    async def cart_items(self, headers: dict[str, str]) -> dict[str, int]:
        reply = await self.call("GET", f"{self.cart.url}/api/cart", headers=headers)
        return {i["product_id"]: i["quantity"] for i in reply.body["items"]}

    async def checkout(
        self,
        headers: dict[str, str],
        *,
        key: str | None = None,
        token: str = "tok_visa",
        via: Any = None,
        expected_total: int | None = None,
    ) -> Reply:
        body: dict[str, Any] = {"shipping_address": ADDRESS, "payment": {"token": token}}
        if expected_total is not None:
            body["expected_total"] = {"amount": expected_total, "currency": "USD"}
        target = via or self.orders[0]
        return await self.call(
            "POST",
            f"{target.url}/api/orders",
            headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
            json=body,
        )

    async def scalar(self, query: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(sa.text(query), params)).scalar()

    async def start_order(self, **overrides: Any) -> ServiceProcess:
        """One more order instance with extra settings (faults), ready."""
        proc = ServiceProcess("order", {**self.env, **overrides}, log_dir=self.log_dir).start()
        self.extra.append(proc)
        return await proc.wait_ready(60)
