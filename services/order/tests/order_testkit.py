"""Test kit of the order service: small real HTTP stand-ins of the product and cart services'
internal routes (exactly docs/internal-api.md), and a JSON client (imported by conftest)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from empora_common.testing.client import JsonClient, Reply
from empora_common.testing.tokens import TestSigner

INTERNAL_TOKEN = "test-internal-token"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "London",
    "postal_code": "N1 7AA",
    "country": "GB",
}


def _problem(status: int, slug: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://empora.dev/problems/{slug}", "title": slug, "status": status}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _authorized(request: Request) -> bool:
    return request.headers.get("X-Internal-Token") == INTERNAL_TOKEN


@dataclass
class StockItem:
    id: str
    sku: str
    name: str
    price: int
    on_hand: int
    reserved: int = 0


@dataclass
class ProductStandIn:
    """The product service's reservation routes over in-memory stock (atomic: no awaits)."""

    products: dict[str, StockItem] = field(default_factory=dict)
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    returned: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    # Answer reservations with this status instead (e.g. 503), to test upstream failures.
    fail_reserve_with: int | None = None

    def add(self, *, price: int = 1000, stock: int = 10, name: str = "Widget") -> str:
        pid = str(uuid.uuid4())
        self.products[pid] = StockItem(pid, f"SKU-{pid[:6]}", name, price, stock)
        return pid

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/internal/reservations", self._reserve, methods=["POST"]),
                Route("/internal/reservations/{rid}/commit", self._commit, methods=["POST"]),
                Route("/internal/reservations/{rid}/release", self._release, methods=["POST"]),
                Route("/internal/returns", self._returns, methods=["POST"]),
            ]
        )

    def _view(self, res: dict[str, Any], status: int) -> JSONResponse:
        return JSONResponse(
            {
                "reservation_id": res["id"],
                "order_id": res["order_id"],
                "status": res["status"],
                "expires_at": "2099-01-01T00:00:00Z",
                "lines": [
                    {
                        "product_id": line["product_id"],
                        "sku": self.products[line["product_id"]].sku,
                        "name": self.products[line["product_id"]].name,
                        "quantity": line["quantity"],
                        "unit_price": {"amount": line["unit_price"], "currency": "USD"},
                    }
                    for line in res["lines"]
                ],
            },
            status_code=status,
        )

    async def _reserve(self, request: Request) -> JSONResponse:
        if not _authorized(request):
            return _problem(401, "unauthorized")
        body = await request.json()
        self.calls.append("reserve")
        if self.fail_reserve_with is not None:
            return _problem(self.fail_reserve_with, "service-unavailable")
        rid = body["reservation_id"]
        if rid in self.reservations:
            return self._view(self.reservations[rid], 200)
        short = []
        for line in body["lines"]:
            item = self.products.get(line["product_id"])
            available = item.on_hand - item.reserved if item else 0
            if available < line["quantity"]:
                short.append(
                    {
                        "product_id": line["product_id"],
                        "requested": line["quantity"],
                        "available": available,
                    }
                )
        if short:
            return _problem(409, "out-of-stock", short_lines=short)
        lines = []
        for line in body["lines"]:
            item = self.products[line["product_id"]]
            item.reserved += line["quantity"]
            lines.append({**line, "unit_price": item.price})
        res = {"id": rid, "order_id": body.get("order_id"), "status": "active", "lines": lines}
        self.reservations[rid] = res
        return self._view(res, 201)

    async def _commit(self, request: Request) -> JSONResponse:
        if not _authorized(request):
            return _problem(401, "unauthorized")
        self.calls.append("commit")
        res = self.reservations.get(request.path_params["rid"])
        if res is None:
            return _problem(404, "not-found")
        if res["status"] == "released":
            return _problem(409, "reservation-released")
        if res["status"] == "expired":
            # As the product service: take the stock again if it is still there.
            short = [
                {"product_id": line["product_id"], "requested": line["quantity"], "available": 0}
                for line in res["lines"]
                if self.products[line["product_id"]].on_hand
                - self.products[line["product_id"]].reserved
                < line["quantity"]
            ]
            if short:
                return _problem(409, "out-of-stock", short_lines=short)
            for line in res["lines"]:
                self.products[line["product_id"]].on_hand -= line["quantity"]
            res["status"] = "committed"
        if res["status"] == "active":
            for line in res["lines"]:
                item = self.products[line["product_id"]]
                item.reserved -= line["quantity"]
                item.on_hand -= line["quantity"]
            res["status"] = "committed"
        return self._view(res, 200)

    def expire(self, reservation_id: str) -> None:
        """What the product service's sweeper does to a reservation past its lifetime."""
        res = self.reservations[reservation_id]
        assert res["status"] == "active"
        for line in res["lines"]:
            self.products[line["product_id"]].reserved -= line["quantity"]
        res["status"] = "expired"

    async def _release(self, request: Request) -> JSONResponse:
        if not _authorized(request):
            return _problem(401, "unauthorized")
        self.calls.append("release")
        res = self.reservations.get(request.path_params["rid"])
        if res is None:
            return _problem(404, "not-found")
        if res["status"] == "committed":
            return _problem(409, "reservation-committed")
        if res["status"] == "active":
            for line in res["lines"]:
                self.products[line["product_id"]].reserved -= line["quantity"]
        if res["status"] in ("active", "expired"):
            res["status"] = "released"
        return self._view(res, 200)

    async def _returns(self, request: Request) -> JSONResponse:
        if not _authorized(request):
            return _problem(401, "unauthorized")
        body = await request.json()
        self.calls.append("return")
        held = [r for r in self.reservations.values() if r["order_id"] == body["order_id"]]
        if held and not any(r["status"] == "committed" for r in held):
            return JSONResponse({"order_id": body["order_id"], "returned": True})
        if body["order_id"] not in self.returned:
            self.returned[body["order_id"]] = body["lines"]
            for line in body["lines"]:
                self.products[line["product_id"]].on_hand += line["quantity"]
        return JSONResponse({"order_id": body["order_id"], "returned": True})


@dataclass
class CartStandIn:
    """The cart service's internal routes over in-memory carts."""

    carts: dict[str, dict[str, Any]] = field(default_factory=dict)
    subtracted: set[str] = field(default_factory=set)
    fail_with: int | None = None

    def put(self, user_id: uuid.UUID | str, product_id: str, quantity: int) -> None:
        cart = self.carts.setdefault(str(user_id), {"version": 0, "items": {}})
        cart["items"][product_id] = cart["items"].get(product_id, 0) + quantity
        cart["version"] += 1

    def items(self, user_id: uuid.UUID | str) -> dict[str, int]:
        return dict(self.carts.get(str(user_id), {"items": {}})["items"])

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/internal/carts/users/{uid}", self._read, methods=["GET"]),
                Route("/internal/carts/users/{uid}/subtract", self._subtract, methods=["POST"]),
            ]
        )

    def _view(self, uid: str) -> JSONResponse:
        cart = self.carts.get(uid, {"version": 0, "items": {}})
        return JSONResponse(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cart:{uid}")),
                "user_id": uid,
                "version": cart["version"],
                "items": [{"product_id": p, "quantity": q} for p, q in cart["items"].items()],
            }
        )

    async def _read(self, request: Request) -> JSONResponse:
        if not _authorized(request):
            return _problem(401, "unauthorized")
        if self.fail_with is not None:
            return _problem(self.fail_with, "service-unavailable")
        return self._view(request.path_params["uid"])

    async def _subtract(self, request: Request) -> JSONResponse:
        if not _authorized(request):
            return _problem(401, "unauthorized")
        uid = request.path_params["uid"]
        body = await request.json()
        if body["order_id"] not in self.subtracted:
            self.subtracted.add(body["order_id"])
            cart = self.carts.setdefault(uid, {"version": 0, "items": {}})
            for line in body["lines"]:
                left = cart["items"].get(line["product_id"], 0) - line["quantity"]
                if left > 0:
                    cart["items"][line["product_id"]] = left
                else:
                    cart["items"].pop(line["product_id"], None)
            cart["version"] += 1
        return self._view(uid)


@dataclass
class Buyer:
    """A signed-in user with a token."""

    id: uuid.UUID
    email: str
    headers: dict[str, str]


class Api(JsonClient):
    """A small JSON client of the order service under test."""

    def __init__(self, session: aiohttp.ClientSession, signer: TestSigner) -> None:
        super().__init__(session)
        self.signer = signer
        self.admin = self.buyer(roles=["admin"])

    def buyer(self, *, verified: bool = True, roles: list[str] | None = None) -> Buyer:
        uid = uuid.uuid4()
        email = f"buyer-{uid.hex[:8]}@example.com"
        headers = self.signer.headers(
            uid, email=email, roles=roles or ["customer"], email_verified=verified
        )
        return Buyer(uid, email, headers)

    async def checkout(
        self,
        buyer: Buyer,
        *,
        key: str | None = None,
        token: str = "tok_visa",
        expected_total: Any = None,
        address: dict[str, Any] | None = None,
    ) -> Reply:
        body: dict[str, Any] = {
            "shipping_address": address or ADDRESS,
            "payment": {"token": token},
        }
        if expected_total is not None:
            body["expected_total"] = expected_total
        headers = {**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex}
        return await self.call("POST", "/api/orders", headers=headers, json=body)


async def eventually(check: Any, timeout: float = 15.0, interval: float = 0.1) -> Any:
    """Poll an async check until it returns a truthy value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)
