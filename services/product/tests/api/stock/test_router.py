"""``/api/products/{id}/stock``: levels, set, adjustments and the movement history."""

from __future__ import annotations

import uuid

from product_api import Api, assert_problem


class TestGetStock:
    async def test_shows_on_hand_reserved_and_available(self, api: Api) -> None:
        product = await api.create_product("ST-1", stock=10)
        await api.reserve([(product["id"], 3)])
        assert await api.stock(product["id"]) == {
            "product_id": product["id"],
            "on_hand": 10,
            "reserved": 3,
            "available": 7,
        }

    async def test_requires_admin_then_an_existing_product(self, api: Api) -> None:
        product = await api.create_product("ST-2")
        assert_problem(await api.get(f"/api/products/{product['id']}/stock"), 401)
        assert_problem(
            await api.get(f"/api/products/{product['id']}/stock", headers=api.customer), 403
        )
        assert_problem(await api.get(f"/api/products/{uuid.uuid4()}/stock", headers=api.admin), 404)


class TestSetStock:
    async def test_sets_on_hand_and_records_a_movement(self, api: Api) -> None:
        product = await api.create_product("SS-1", stock=2)
        reply = await api.put(
            f"/api/products/{product['id']}/stock", json={"quantity": 12}, headers=api.admin
        )
        assert reply.status == 200, reply.body
        assert (reply.body["on_hand"], reply.body["available"]) == (12, 12)
        history = await api.get(f"/api/products/{product['id']}/stock/movements", headers=api.admin)
        assert [(m["kind"], m["delta"], m["on_hand_after"]) for m in history.body["data"]] == [
            ("set", 10, 12),
            ("initial", 2, 2),
        ]

    async def test_refuses_to_go_below_reserved(self, api: Api) -> None:
        product = await api.create_product("SS-2", stock=5)
        await api.reserve([(product["id"], 4)])
        reply = await api.put(
            f"/api/products/{product['id']}/stock", json={"quantity": 3}, headers=api.admin
        )
        assert_problem(reply, 409, "stock-below-reserved")
        assert (await api.stock(product["id"]))["on_hand"] == 5

    async def test_rejects_a_negative_quantity(self, api: Api) -> None:
        product = await api.create_product("SS-3")
        reply = await api.put(
            f"/api/products/{product['id']}/stock", json={"quantity": -1}, headers=api.admin
        )
        assert_problem(reply, 422)


class TestAdjustStock:
    async def test_adjusts_relatively_with_reason_and_reference(self, api: Api) -> None:
        product = await api.create_product("SA-1", stock=5)
        reply = await api.post(
            f"/api/products/{product['id']}/stock/adjustments",
            json={"delta": -2, "reason": "damaged in transit", "reference": "RMA-7"},
            headers=api.admin,
        )
        assert reply.status == 200, reply.body
        assert reply.body["on_hand"] == 3
        history = await api.get(f"/api/products/{product['id']}/stock/movements", headers=api.admin)
        latest = history.body["data"][0]
        assert latest["kind"] == "adjustment"
        assert latest["reason"] == "damaged in transit"
        assert latest["reference"] == "RMA-7"
        assert latest["delta"] == -2
        assert latest["actor_id"] is not None

    async def test_never_goes_below_reserved(self, api: Api) -> None:
        product = await api.create_product("SA-2", stock=5)
        await api.reserve([(product["id"], 4)])
        reply = await api.post(
            f"/api/products/{product['id']}/stock/adjustments",
            json={"delta": -2, "reason": "count"},
            headers=api.admin,
        )
        assert_problem(reply, 409, "stock-below-reserved")

    async def test_requires_a_reason(self, api: Api) -> None:
        product = await api.create_product("SA-3", stock=5)
        reply = await api.post(
            f"/api/products/{product['id']}/stock/adjustments",
            json={"delta": 1},
            headers=api.admin,
        )
        assert_problem(reply, 422)
