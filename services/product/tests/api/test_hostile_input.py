"""Input a client can send that must never become a 500."""

from __future__ import annotations

import uuid

from product_api import Api


class TestHostileInput:
    async def test_nul_characters_are_refused_or_not_found(self, api: Api) -> None:
        await api.create_product("NUL-1", stock=1)
        for params in ({"q": "a\x00b"}, {"category": "x\x00"}):
            reply = await api.get("/api/products", params=params)
            assert reply.status in (200, 422), (params, reply.status)
        assert (await api.get("/api/products/a%00b")).status == 404
        for body in (
            {"sku": "NUL-2", "name": "a\x00b", "price": 1},
            {"sku": "NUL-2", "name": "n", "price": 1, "description": "\x00"},
            {"sku": "NUL-2", "name": "n", "price": 1, "attributes": {"k": "\x00"}},
            {"sku": "NUL-2", "name": "n", "price": 1, "attributes": {"\x00": "v"}},
            {"sku": "NUL-2", "name": "n", "price": 1, "images": ["https://x.example/\x00"]},
        ):
            reply = await api.post("/api/products", json=body, headers=api.admin)
            assert reply.status == 422, (body, reply.status)
        reply = await api.post("/api/categories", json={"name": "a\x00"}, headers=api.admin)
        assert reply.status == 422

    async def test_numbers_and_flags_are_not_coerced_from_strings_or_floats(self, api: Api) -> None:
        for body in (
            {"sku": "STRICT-1", "name": "n", "price": {"amount": "2500", "currency": "USD"}},
            {"sku": "STRICT-1", "name": "n", "price": {"amount": 25.0, "currency": "USD"}},
            {"sku": "STRICT-1", "name": "n", "price": 100, "stock": "7"},
            {"sku": "STRICT-1", "name": "n", "price": 100, "is_active": "yes"},
        ):
            reply = await api.post("/api/products", json=body, headers=api.admin)
            assert reply.status == 422, (body, reply.status)
        product = await api.create_product("STRICT-2", stock=1)
        path = f"/api/products/{product['id']}"
        for method, sub, body in (
            ("PATCH", "", {"price": {"amount": "2500", "currency": "USD"}}),
            ("PUT", "/stock", {"quantity": "7"}),
            ("POST", "/stock/adjustments", {"delta": "3", "reason": "recount"}),
            ("POST", "/stock/adjustments", {"delta": 1.5, "reason": "recount"}),
        ):
            reply = await api.call(method, path + sub, json=body, headers=api.admin)
            assert reply.status == 422, (method, sub, body, reply.status)
        stock = await api.get(f"{path}/stock", headers=api.admin)
        assert stock.body["on_hand"] == 1

    async def test_out_of_range_numbers_are_validation_errors(self, api: Api) -> None:
        for params in ({"min_price": 2**70}, {"max_price": 2**64}, {"page": 2**40}):
            assert (await api.get("/api/products", params=params)).status == 422

    async def test_stock_cannot_overflow(self, api: Api) -> None:
        product = await api.create_product("BIG-1")
        path = f"/api/products/{product['id']}/stock"
        assert (
            await api.put(path, json={"quantity": 1_000_000_000}, headers=api.admin)
        ).status == 200
        reply = await api.post(
            f"{path}/adjustments", json={"delta": 1, "reason": "one more"}, headers=api.admin
        )
        assert reply.status == 422, reply.body
        assert reply.body["errors"][0]["field"] == "delta"
        reply = await api.post(
            f"{path}/adjustments", json={"delta": -5, "reason": "recount"}, headers=api.admin
        )
        assert reply.status == 200 and reply.body["on_hand"] == 1_000_000_000 - 5
        for delta, status in ((5, 200), (1_000_000_000, 422)):
            reply = await api.post(
                f"{path}/adjustments",
                json={"delta": delta, "reason": "big delivery"},
                headers=api.admin,
            )
            assert reply.status == status, reply.body
        assert (await api.get(path, headers=api.admin)).body["on_hand"] == 1_000_000_000

    async def test_a_reservation_for_an_unknown_product_with_a_weird_id(self, api: Api) -> None:
        reply = await api.post(
            f"/internal/reservations/{uuid.uuid4()}/commit", headers=api.internal
        )
        assert reply.status == 404
