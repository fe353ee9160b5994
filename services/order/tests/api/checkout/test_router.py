"""POST /api/orders against the real service, with product and cart stand-ins over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from order_testkit import ADDRESS, Api, CartStandIn, ProductStandIn
from sqlalchemy.ext.asyncio import AsyncEngine

from empora_order.models import idempotency_key, order, outbox, payment, test_provider_charge

PROBLEM = "https://empora.dev/problems/"


async def count(engine: AsyncEngine, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))
            ).scalar_one()
        )


class TestCheckoutSucceeds:
    async def test_answers_paid_order_with_lines_totals_and_history(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        pid = products.add(price=1250, stock=5, name="Lamp")
        buyer = api.buyer()
        carts.put(buyer.id, pid, 2)

        reply = await api.checkout(buyer)

        assert reply.status == 201, reply.body
        order_body = reply.body
        assert order_body["status"] == "paid"
        assert order_body["number"].startswith("EMP-")
        assert order_body["customer_email"] == buyer.email
        assert order_body["items"] == [
            {
                "product_id": pid,
                "sku": products.products[pid].sku,
                "name": "Lamp",
                "unit_price": {"amount": 1250, "currency": "USD"},
                "quantity": 2,
                "line_total": {"amount": 2500, "currency": "USD"},
            }
        ]
        assert order_body["subtotal"] == {"amount": 2500, "currency": "USD"}
        assert order_body["shipping"] == {"amount": 499, "currency": "USD"}
        assert order_body["total"] == {"amount": 2999, "currency": "USD"}
        assert order_body["payment"]["status"] == "captured"
        assert order_body["payment"]["provider"] == "test"
        assert order_body["payment"]["reference"].startswith("ch_test_")
        assert order_body["payment"]["amount"] == {"amount": 2999, "currency": "USD"}
        assert [h["status"] for h in order_body["status_history"]] == ["pending", "paid"]
        assert order_body["shipping_address"]["country"] == "GB"

    async def test_commits_stock_and_subtracts_cart_before_answering(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        pid = products.add(stock=5)
        buyer = api.buyer()
        carts.put(buyer.id, pid, 2)

        reply = await api.checkout(buyer)

        assert reply.status == 201
        assert products.products[pid].on_hand == 3
        assert products.products[pid].reserved == 0
        assert carts.items(buyer.id) == {}

    async def test_ships_free_from_the_threshold(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        pid = products.add(price=2500)
        buyer = api.buyer()
        carts.put(buyer.id, pid, 2)

        reply = await api.checkout(buyer)

        assert reply.body["shipping"]["amount"] == 0
        assert reply.body["total"]["amount"] == 5000

    async def test_accepts_matching_expected_total_as_money_or_int(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        pid = products.add(price=1000)
        first, second = api.buyer(), api.buyer()
        carts.put(first.id, pid, 1)
        carts.put(second.id, pid, 1)

        as_money = await api.checkout(first, expected_total={"amount": 1499, "currency": "USD"})
        as_int = await api.checkout(second, expected_total=1499)

        assert (as_money.status, as_int.status) == (201, 201)

    @pytest.mark.parametrize(
        "bad",
        [
            "abc",
            14.99,
            -1,
            2**64,
            True,
            {"amount": "x"},
            {"amount": 2**70, "currency": "USD"},
            {"amount": 1, "bogus": 1},
            [1],
        ],
    )
    async def test_a_malformed_expected_total_is_one_field_error(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, bad: Any
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        reply = await api.checkout(buyer, expected_total=bad)
        assert reply.status == 422
        assert [e["field"] for e in reply.body["errors"]] == ["expected_total"]

    async def test_writes_created_and_paid_events_once(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        pid = products.add()
        buyer = api.buyer()
        carts.put(buyer.id, pid, 1)

        reply = await api.checkout(buyer)

        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(outbox.c.event_type, outbox.c.data).where(
                        outbox.c.aggregate_id == reply.body["id"]
                    )
                )
            ).all()
        assert sorted(r.event_type for r in rows) == ["order.created", "order.paid"]
        paid = next(r.data for r in rows if r.event_type == "order.paid")
        assert paid["customer_email"] == buyer.email
        assert paid["reservation_id"] == reply.body["id"]
        assert paid["lines"][0]["product_id"] == pid
        assert paid["total"] == {"amount": 1499, "currency": "USD"}


class TestCheckoutRefuses:
    async def test_requires_a_token(self, api: Api) -> None:
        reply = await api.call("POST", "/api/orders", json={}, headers={"Idempotency-Key": "k"})
        assert reply.status == 401

    async def test_requires_verified_email(self, api: Api) -> None:
        reply = await api.checkout(api.buyer(verified=False))
        assert reply.status == 403
        assert reply.body["type"] == PROBLEM + "email-not-verified"

    async def test_requires_idempotency_key(self, api: Api) -> None:
        buyer = api.buyer()
        reply = await api.call(
            "POST",
            "/api/orders",
            headers=buyer.headers,
            json={"shipping_address": {}, "payment": {"token": "tok_visa"}},
        )
        assert reply.status == 400
        assert reply.headers["Content-Type"] == "application/problem+json"
        assert reply.body["type"] == PROBLEM + "idempotency-key-missing"

    async def test_rejects_keys_over_255_characters(self, api: Api) -> None:
        reply = await api.checkout(api.buyer(), key="k" * 256)
        assert reply.status == 400

    async def test_rejects_invalid_address_with_field_errors(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        reply = await api.checkout(buyer, address={"name": "A", "line1": "x", "country": "XX"})
        assert reply.status == 422
        fields = {e["field"] for e in reply.body["errors"]}
        assert {"shipping_address.city", "shipping_address.country"} <= fields

    async def test_rejects_text_postgresql_cannot_hold_and_keeps_the_key_open(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        key = uuid.uuid4().hex
        for field in ("name", "line1", "line2", "postal_code"):
            for bad in ("a\x00b", "a\ud800b"):
                reply = await api.checkout(buyer, key=key, address={**ADDRESS, field: bad})
                assert reply.status == 422, (field, reply.body)
                fields = {e["field"] for e in reply.body["errors"]}
                assert f"shipping_address.{field}" in fields
        reply = await api.checkout(buyer, key=key, token="tok_\x00")
        assert reply.status == 422
        assert await count(engine, order) == 0
        assert (await api.checkout(buyer, key=key)).status == 201

    async def test_rejects_unknown_payment_token(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        reply = await api.checkout(buyer, token="tok_unknown")
        assert reply.status == 422
        assert reply.body["errors"][0]["field"] == "payment.token"
        assert await count(engine, order) == 0

    async def test_rejects_empty_cart(self, api: Api) -> None:
        reply = await api.checkout(api.buyer())
        assert reply.status == 422
        assert reply.body["type"] == PROBLEM + "cart-empty"

    async def test_out_of_stock_answers_short_lines_and_charges_nothing(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        pid = products.add(stock=1)
        buyer = api.buyer()
        carts.put(buyer.id, pid, 2)

        reply = await api.checkout(buyer)

        assert reply.status == 409
        assert reply.body["type"] == PROBLEM + "out-of-stock"
        assert reply.body["short_lines"] == [{"product_id": pid, "requested": 2, "available": 1}]
        assert await count(engine, test_provider_charge) == 0
        assert await count(engine, order) == 0
        assert carts.items(buyer.id) == {pid: 2}

    async def test_price_change_answers_409_releases_stock_and_charges_nothing(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        pid = products.add(price=1000, stock=3)
        buyer = api.buyer()
        carts.put(buyer.id, pid, 1)

        reply = await api.checkout(buyer, expected_total={"amount": 999, "currency": "USD"})

        assert reply.status == 409
        assert reply.body["type"] == PROBLEM + "price-changed"
        assert reply.body["total"] == {"amount": 1499, "currency": "USD"}
        assert products.products[pid].reserved == 0
        assert await count(engine, test_provider_charge) == 0

    async def test_upstream_failure_is_503_and_not_stored(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        pid = products.add()
        buyer = api.buyer()
        carts.put(buyer.id, pid, 1)
        products.fail_reserve_with = 503

        failed = await api.checkout(buyer, key="retry-me")
        products.fail_reserve_with = None
        retried = await api.checkout(buyer, key="retry-me")

        assert failed.status == 503
        assert retried.status == 201, retried.body
        assert "Idempotent-Replayed" not in retried.headers


class TestDeclinedPayment:
    async def test_answers_402_keeps_failed_order_releases_stock_keeps_cart(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        pid = products.add(stock=4)
        buyer = api.buyer()
        carts.put(buyer.id, pid, 2)

        reply = await api.checkout(buyer, token="tok_chargeDeclined")

        assert reply.status == 402
        assert reply.body["type"] == PROBLEM + "payment-declined"
        assert reply.body["decline_code"] == "card_declined"
        order_id = reply.body["order_id"]
        got = await api.call("GET", f"/api/orders/{order_id}", headers=buyer.headers)
        assert got.body["status"] == "payment_failed"
        assert got.body["payment"]["status"] == "declined"
        assert got.body["payment"]["decline_code"] == "card_declined"
        assert products.products[pid].reserved == 0
        assert products.products[pid].on_hand == 4
        assert carts.items(buyer.id) == {pid: 2}
        async with engine.connect() as conn:
            types = (
                await conn.execute(
                    sa.select(outbox.c.event_type).where(outbox.c.aggregate_id == order_id)
                )
            ).scalars()
            assert sorted(types) == ["order.created", "order.payment_failed"]

    async def test_reports_insufficient_funds(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        reply = await api.checkout(buyer, token="tok_insufficientFunds")
        assert (reply.status, reply.body["decline_code"]) == (402, "insufficient_funds")

    async def test_same_cart_can_be_paid_after_a_decline(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        declined = await api.checkout(buyer, token="tok_chargeDeclined")
        paid = await api.checkout(buyer, token="tok_mastercard")
        assert (declined.status, paid.status) == (402, 201)

    async def test_more_than_five_declines_in_an_hour_block_checkout(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        statuses = [
            (await api.checkout(buyer, token="tok_chargeDeclined")).status for _ in range(6)
        ]
        blocked = await api.checkout(buyer, token="tok_visa")

        assert statuses == [402] * 6
        assert blocked.status == 429
        assert blocked.body["type"] == PROBLEM + "too-many-declines"
        assert int(blocked.headers["Retry-After"]) > 0


class TestIdempotency:
    async def test_same_key_same_body_replays_stored_response(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)

        first = await api.checkout(buyer, key="same")
        again = await api.checkout(buyer, key="same")

        assert first.status == again.status == 201
        assert again.body == first.body
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert await count(engine, test_provider_charge) == 1

    async def test_replays_stored_errors_too(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        first = await api.checkout(buyer, key="declined", token="tok_chargeDeclined")
        again = await api.checkout(buyer, key="declined", token="tok_chargeDeclined")
        assert (first.status, again.status) == (402, 402)
        assert again.body["order_id"] == first.body["order_id"]
        assert again.headers["Idempotent-Replayed"] == "true"

    async def test_same_key_different_body_is_422(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        await api.checkout(buyer, key="k1")
        other = await api.checkout(buyer, key="k1", token="tok_mastercard")
        assert other.status == 422
        assert other.body["type"] == PROBLEM + "idempotency-key-reused"

    async def test_keys_are_scoped_per_user(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        pid = products.add()
        first, second = api.buyer(), api.buyer()
        carts.put(first.id, pid, 1)
        carts.put(second.id, pid, 1)
        a = await api.checkout(first, key="shared")
        b = await api.checkout(second, key="shared")
        assert (a.status, b.status) == (201, 201)
        assert a.body["id"] != b.body["id"]

    async def test_concurrent_duplicates_make_one_order_and_one_capture(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        pid = products.add(stock=10)
        buyer = api.buyer()
        carts.put(buyer.id, pid, 1)

        replies = await asyncio.gather(*(api.checkout(buyer, key="burst") for _ in range(10)))

        statuses = [r.status for r in replies]
        assert set(statuses) <= {201, 409}, statuses
        assert statuses.count(201) >= 1
        assert len({r.body["id"] for r in replies if r.status == 201}) == 1
        assert await count(engine, order) == 1
        assert await count(engine, test_provider_charge) == 1
        assert products.products[pid].on_hand == 9

    async def test_one_cart_checked_out_concurrently_with_different_keys_makes_one_order(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        pid = products.add(stock=10)
        buyer = api.buyer()
        carts.put(buyer.id, pid, 1)

        replies = await asyncio.gather(*(api.checkout(buyer) for _ in range(8)))

        statuses = sorted(r.status for r in replies)
        assert statuses.count(201) == 1, statuses
        assert set(statuses) <= {201, 409, 422}
        for reply in replies:
            if reply.status == 409:
                assert reply.body["type"] == PROBLEM + "cart-checkout-in-progress"
        assert await count(engine, order) == 1
        assert await count(engine, payment, payment.c.status == "captured") == 1
        assert products.products[pid].on_hand == 9

    async def test_keeps_keys_for_the_user(
        self, api: Api, products: ProductStandIn, carts: CartStandIn, engine: AsyncEngine
    ) -> None:
        buyer = api.buyer()
        carts.put(buyer.id, products.add(), 1)
        await api.checkout(buyer, key="kept")
        assert (
            await count(
                engine,
                idempotency_key,
                idempotency_key.c.user_id == buyer.id,
                idempotency_key.c.response_status == 201,
            )
            == 1
        )

    async def test_an_order_placed_under_a_key_stays_invisible_to_others(
        self, api: Api, products: ProductStandIn, carts: CartStandIn
    ) -> None:
        owner, other = api.buyer(), api.buyer()
        carts.put(owner.id, products.add(), 1)
        mine = await api.checkout(owner, key=str(uuid.uuid4()))
        theirs = await api.call("GET", f"/api/orders/{mine.body['id']}", headers=other.headers)
        assert theirs.status == 404
