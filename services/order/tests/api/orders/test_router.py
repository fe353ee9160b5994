"""GET /api/orders, GET /api/orders/{id}, cancel, ship and deliver against the real service."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from order_testkit import Api, Buyer, CartStandIn, ProductStandIn
from sqlalchemy.ext.asyncio import AsyncEngine

from empora_order.models import outbox, refund, test_provider_charge

PROBLEM = "https://empora.dev/problems/"


async def paid_order(
    api: Api, products: ProductStandIn, carts: CartStandIn, buyer: Buyer | None = None
) -> tuple[Buyer, dict[str, Any]]:
    buyer = buyer or api.buyer()
    carts.put(buyer.id, products.add(stock=5), 2)
    reply = await api.checkout(buyer)
    assert reply.status == 201, reply.body
    return buyer, reply.body


class TestGetOrder:
    async def test_owner_sees_the_order(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer, placed = await paid_order(api, products, carts)
        got = await api.call("GET", f"/api/orders/{placed['id']}", headers=buyer.headers)
        assert got.status == 200
        assert got.body == placed

    async def test_someone_elses_order_is_404(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        _, placed = await paid_order(api, products, carts)
        got = await api.call("GET", f"/api/orders/{placed['id']}", headers=api.buyer().headers)
        assert got.status == 404
        assert got.body["type"] == PROBLEM + "order-not-found"

    async def test_admin_sees_any_order(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        _, placed = await paid_order(api, products, carts)
        got = await api.call("GET", f"/api/orders/{placed['id']}", headers=api.admin.headers)
        assert got.status == 200

    async def test_unknown_or_malformed_id_is_404(self, api: Api) -> None:
        buyer = api.buyer()
        unknown = await api.call("GET", f"/api/orders/{uuid.uuid4()}", headers=buyer.headers)
        malformed = await api.call("GET", "/api/orders/not-a-uuid", headers=buyer.headers)
        assert (unknown.status, malformed.status) == (404, 404)

    async def test_requires_a_token(self, api: Api) -> None:
        got = await api.call("GET", f"/api/orders/{uuid.uuid4()}")
        assert got.status == 401


class TestListOrders:
    async def test_owner_sees_only_own_orders_newest_first(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer, first = await paid_order(api, products, carts)
        _, second = await paid_order(api, products, carts, buyer)
        await paid_order(api, products, carts)

        listed = await api.call("GET", "/api/orders", headers=buyer.headers)

        assert listed.status == 200
        assert [o["id"] for o in listed.body["data"]] == [second["id"], first["id"]]
        assert listed.body["meta"] == {"page": 1, "limit": 20, "total": 2, "total_pages": 1}

    async def test_customer_cannot_list_another_users_orders(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        other, theirs = await paid_order(api, products, carts)
        buyer, mine = await paid_order(api, products, carts)
        listed = await api.call("GET", f"/api/orders?user_id={other.id}", headers=buyer.headers)
        assert [o["id"] for o in listed.body["data"]] == [mine["id"]]
        assert theirs["id"] not in {o["id"] for o in listed.body["data"]}

    async def test_admin_filters_by_user_and_status(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer, placed = await paid_order(api, products, carts)
        await paid_order(api, products, carts)
        carts.put(buyer.id, products.add(), 1)
        await api.checkout(buyer, token="tok_chargeDeclined")

        everything = await api.call("GET", "/api/orders", headers=api.admin.headers)
        theirs = await api.call("GET", f"/api/orders?user_id={buyer.id}", headers=api.admin.headers)
        paid = await api.call(
            "GET", f"/api/orders?user_id={buyer.id}&status=paid", headers=api.admin.headers
        )

        assert everything.body["meta"]["total"] == 3
        assert theirs.body["meta"]["total"] == 2
        assert [o["id"] for o in paid.body["data"]] == [placed["id"]]

    async def test_paginates_with_stable_order(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer = api.buyer()
        ids = [(await paid_order(api, products, carts, buyer))[1]["id"] for _ in range(3)]
        page1 = await api.call("GET", "/api/orders?limit=2", headers=buyer.headers)
        page2 = await api.call("GET", "/api/orders?limit=2&page=2", headers=buyer.headers)
        seen = [o["id"] for o in page1.body["data"] + page2.body["data"]]
        assert seen == list(reversed(ids))
        assert page2.body["meta"]["total_pages"] == 2

    async def test_rejects_unknown_status_and_bad_limit(self, api: Api) -> None:
        buyer = api.buyer()
        bad_status = await api.call("GET", "/api/orders?status=lost", headers=buyer.headers)
        bad_limit = await api.call("GET", "/api/orders?limit=101", headers=buyer.headers)
        assert (bad_status.status, bad_limit.status) == (422, 422)


class TestCancelOrder:
    async def test_refunds_returns_stock_and_records_history(
        self,
        api: Api,
        products: ProductStandIn,
        carts: CartStandIn,
        engine: AsyncEngine,
    ) -> None:
        buyer, placed = await paid_order(api, products, carts)
        pid = placed["items"][0]["product_id"]

        cancelled = await api.call(
            "POST", f"/api/orders/{placed['id']}/cancel", headers=buyer.headers
        )

        assert cancelled.status == 200, cancelled.body
        assert cancelled.body["status"] == "cancelled"
        assert cancelled.body["payment"]["status"] == "refunded"
        last = cancelled.body["status_history"][-1]
        assert (last["status"], last["actor"]) == ("cancelled", f"user:{buyer.id}")
        assert products.products[pid].on_hand == 5
        async with engine.connect() as conn:
            refunds = (await conn.execute(sa.select(refund))).all()
            ledger = (
                await conn.execute(
                    sa.select(test_provider_charge.c.kind, test_provider_charge.c.amount)
                )
            ).all()
            event = (
                await conn.execute(
                    sa.select(outbox.c.data).where(
                        outbox.c.aggregate_id == placed["id"],
                        outbox.c.event_type == "order.cancelled",
                    )
                )
            ).scalar_one()
        assert [(r.status, r.amount) for r in refunds] == [("succeeded", placed["total"]["amount"])]
        assert sorted(ledger) == sorted(
            [("capture", placed["total"]["amount"]), ("refund", placed["total"]["amount"])]
        )
        assert event["refund"]["status"] == "succeeded"
        assert event["customer_email"] == buyer.email

    async def test_second_cancel_is_409_and_changes_nothing(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        buyer, placed = await paid_order(api, products, carts)
        pid = placed["items"][0]["product_id"]
        path = f"/api/orders/{placed['id']}/cancel"
        first = await api.call("POST", path, headers=buyer.headers)
        second = await api.call("POST", path, headers=buyer.headers)
        assert (first.status, second.status) == (200, 409)
        assert second.body["type"] == PROBLEM + "invalid-transition"
        assert products.products[pid].on_hand == 5
        async with engine.connect() as conn:
            assert (
                await conn.execute(sa.select(sa.func.count()).select_from(refund))
            ).scalar() == 1

    async def test_after_shipping_is_409(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer, placed = await paid_order(api, products, carts)
        await api.call("POST", f"/api/orders/{placed['id']}/ship", headers=api.admin.headers)
        reply = await api.call("POST", f"/api/orders/{placed['id']}/cancel", headers=buyer.headers)
        assert reply.status == 409

    async def test_failed_payment_cannot_be_cancelled(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        declined = await api.checkout(buyer, token="tok_chargeDeclined")
        reply = await api.call(
            "POST", f"/api/orders/{declined.body['order_id']}/cancel", headers=buyer.headers
        )
        assert reply.status == 409

    async def test_someone_elses_order_is_404(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        _, placed = await paid_order(api, products, carts)
        reply = await api.call(
            "POST", f"/api/orders/{placed['id']}/cancel", headers=api.buyer().headers
        )
        assert reply.status == 404

    async def test_admin_may_cancel(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        _, placed = await paid_order(api, products, carts)
        reply = await api.call(
            "POST", f"/api/orders/{placed['id']}/cancel", headers=api.admin.headers
        )
        assert reply.status == 200
        assert reply.body["status_history"][-1]["actor"].startswith("admin:")


class TestShipAndDeliver:
    async def test_refuses_a_tracking_number_postgresql_cannot_hold(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        _, placed = await paid_order(api, products, carts)
        for bad in ("1Z\x00", "1Z\ud800"):
            reply = await api.call(
                "POST",
                f"/api/orders/{placed['id']}/ship",
                headers=api.admin.headers,
                json={"tracking_number": bad},
            )
            assert reply.status == 422, reply.body
            assert reply.body["errors"][0]["field"] == "tracking_number"
        current = await api.call("GET", f"/api/orders/{placed['id']}", headers=api.admin.headers)
        assert current.body["status"] == "paid"

    async def test_ship_then_deliver(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        buyer, placed = await paid_order(api, products, carts)

        shipped = await api.call(
            "POST",
            f"/api/orders/{placed['id']}/ship",
            headers=api.admin.headers,
            json={"tracking_number": "1Z999"},
        )
        delivered = await api.call(
            "POST", f"/api/orders/{placed['id']}/deliver", headers=api.admin.headers
        )

        assert shipped.status == 200
        assert (shipped.body["status"], shipped.body["tracking_number"]) == ("shipped", "1Z999")
        assert delivered.status == 200
        assert [h["status"] for h in delivered.body["status_history"]] == [
            "pending",
            "paid",
            "shipped",
            "delivered",
        ]
        async with engine.connect() as conn:
            event = (
                await conn.execute(
                    sa.select(outbox.c.data).where(
                        outbox.c.aggregate_id == placed["id"],
                        outbox.c.event_type == "order.shipped",
                    )
                )
            ).scalar_one()
        assert event["tracking_number"] == "1Z999"
        assert event["customer_email"] == buyer.email

    async def test_ship_without_body(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        _, placed = await paid_order(api, products, carts)
        reply = await api.call(
            "POST", f"/api/orders/{placed['id']}/ship", headers=api.admin.headers
        )
        assert (reply.status, reply.body["tracking_number"]) == (200, None)

    async def test_deliver_before_shipping_is_409(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        _, placed = await paid_order(api, products, carts)
        reply = await api.call(
            "POST", f"/api/orders/{placed['id']}/deliver", headers=api.admin.headers
        )
        assert reply.status == 409
        assert reply.body["type"] == PROBLEM + "invalid-transition"

    async def test_ship_twice_is_409(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        _, placed = await paid_order(api, products, carts)
        path = f"/api/orders/{placed['id']}/ship"
        await api.call("POST", path, headers=api.admin.headers)
        again = await api.call("POST", path, headers=api.admin.headers)
        assert again.status == 409

    async def test_customers_cannot_ship_or_deliver(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer, placed = await paid_order(api, products, carts)
        ship = await api.call("POST", f"/api/orders/{placed['id']}/ship", headers=buyer.headers)
        deliver = await api.call(
            "POST", f"/api/orders/{placed['id']}/deliver", headers=buyer.headers
        )
        assert (ship.status, deliver.status) == (403, 403)

    async def test_unknown_order_is_404_for_admin(self, api: Api) -> None:
        reply = await api.call(
            "POST", f"/api/orders/{uuid.uuid4()}/ship", headers=api.admin.headers
        )
        assert reply.status == 404
