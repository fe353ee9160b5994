"""Checkout against the real product and cart services (processes), two instances each of
order and product: every route, concurrency, faults, and a ledger that agrees afterwards.

The tests of this module share one platform and run in file order; the last class checks the
ledger over everything the others did.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from order_platform_kit import Platform

from empora_common.testing.infra import serve
from empora_common.testing.statements import count_statements
from empora_order.app import create_app as create_order_app
from empora_order.settings import OrderSettings
from empora_product.app import create_app as create_product_app
from empora_product.settings import ProductSettings

PROBLEM = "https://empora.dev/problems/"

pytestmark = pytest.mark.slow


async def eventually(check, timeout: float = 30.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {timeout}s: {result!r}")
        await asyncio.sleep(interval)


class TestRoutesWithRealServices:
    async def test_checkout_pays_commits_stock_and_empties_cart(self, platform: Platform) -> None:
        pid = await platform.product(price=1500, stock=5)
        _, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 2)

        reply = await platform.checkout(buyer, expected_total=3499)

        assert reply.status == 201, reply.body
        assert reply.body["status"] == "paid"
        assert reply.body["total"] == {"amount": 3499, "currency": "USD"}
        assert reply.body["items"][0]["name"].startswith("Item T-")
        assert await platform.stock(pid) == {"on_hand": 3, "reserved": 0, "available": 3}
        assert await platform.cart_items(buyer) == {}

    async def test_get_list_ship_deliver(self, platform: Platform) -> None:
        pid = await platform.product(price=6000, stock=2)
        uid, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 1)
        placed = await platform.checkout(buyer, via=platform.orders[1])
        order_url = f"{platform.orders[0].url}/api/orders/{placed.body['id']}"

        got = await platform.call("GET", order_url, headers=buyer)
        listed = await platform.call(
            "GET", f"{platform.orders[1].url}/api/orders?user_id={uid}", headers=platform.admin
        )
        shipped = await platform.call(
            "POST", f"{order_url}/ship", headers=platform.admin, json={"tracking_number": "T1"}
        )
        cancel_late = await platform.call("POST", f"{order_url}/cancel", headers=buyer)
        delivered = await platform.call("POST", f"{order_url}/deliver", headers=platform.admin)

        assert placed.body["shipping"]["amount"] == 0
        assert got.status == 200 and got.body["id"] == placed.body["id"]
        assert [o["id"] for o in listed.body["data"]] == [placed.body["id"]]
        assert shipped.body["status"] == "shipped"
        assert cancel_late.status == 409
        assert delivered.body["status"] == "delivered"

    async def test_cancel_refunds_and_returns_stock_once(self, platform: Platform) -> None:
        pid = await platform.product(price=1000, stock=4)
        _, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 3)
        placed = await platform.checkout(buyer)
        assert (await platform.stock(pid))["on_hand"] == 1
        url = f"{platform.orders[1].url}/api/orders/{placed.body['id']}/cancel"

        first, second = await asyncio.gather(
            platform.call("POST", url, headers=buyer), platform.call("POST", url, headers=buyer)
        )

        assert sorted([first.status, second.status]) == [200, 409]
        assert await platform.stock(pid) == {"on_hand": 4, "reserved": 0, "available": 4}
        refunds = await platform.scalar(
            'SELECT count(*) FROM "order".refund WHERE order_id = :id', id=placed.body["id"]
        )
        assert refunds == 1

    async def test_out_of_stock_is_409_with_short_lines_and_no_charge(
        self, platform: Platform
    ) -> None:
        pid = await platform.product(price=1000, stock=3)
        _, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 3)
        _, rival = platform.buyer()
        await platform.add_to_cart(rival, pid, 2)
        assert (await platform.checkout(rival)).status == 201

        reply = await platform.checkout(buyer)

        assert reply.status == 409
        assert reply.body["type"] == PROBLEM + "out-of-stock"
        assert reply.body["short_lines"] == [{"product_id": pid, "requested": 3, "available": 1}]
        assert await platform.stock(pid) == {"on_hand": 1, "reserved": 0, "available": 1}

    async def test_decline_is_402_releases_stock_and_keeps_cart(self, platform: Platform) -> None:
        pid = await platform.product(price=1000, stock=2)
        _, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 2)

        reply = await platform.checkout(buyer, token="tok_insufficientFunds")

        assert reply.status == 402
        assert reply.body["decline_code"] == "insufficient_funds"
        assert await platform.stock(pid) == {"on_hand": 2, "reserved": 0, "available": 2}
        assert await platform.cart_items(buyer) == {pid: 2}

    async def test_price_change_is_409_and_releases(self, platform: Platform) -> None:
        pid = await platform.product(price=1000, stock=2)
        _, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 1)

        reply = await platform.checkout(buyer, expected_total=1)

        assert reply.status == 409
        assert reply.body["type"] == PROBLEM + "price-changed"
        assert (await platform.stock(pid))["reserved"] == 0


class TestConcurrency:
    async def test_100_buyers_for_10_units_make_exactly_10_orders(self, platform: Platform) -> None:
        pid = await platform.product(price=700, stock=10)
        buyers = [platform.buyer()[1] for _ in range(100)]
        await asyncio.gather(*(platform.add_to_cart(b, pid, 1) for b in buyers))

        replies = await asyncio.gather(
            *(platform.checkout(b, via=platform.orders[i % 2]) for i, b in enumerate(buyers))
        )

        statuses = [r.status for r in replies]
        others = [(r.status, r.body) for r in replies if r.status not in (201, 409)]
        assert statuses.count(201) == 10, others
        assert statuses.count(409) == 90, others
        assert all(r.body["type"] == PROBLEM + "out-of-stock" for r in replies if r.status == 409)
        assert await platform.stock(pid) == {"on_hand": 0, "reserved": 0, "available": 0}
        paid = await platform.scalar(
            """SELECT count(*) FROM "order".order_line l JOIN "order"."order" o
               ON o.id = l.order_id WHERE l.product_id = :pid AND o.status = 'paid'""",
            pid=pid,
        )
        assert paid == 10

    async def test_same_key_ten_times_concurrently_is_one_order_one_capture(
        self, platform: Platform
    ) -> None:
        pid = await platform.product(price=900, stock=5)
        uid, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 1)
        key = f"burst-{uuid.uuid4().hex}"

        replies = await asyncio.gather(
            *(platform.checkout(buyer, key=key, via=platform.orders[i % 2]) for i in range(10))
        )

        statuses = [r.status for r in replies]
        assert set(statuses) <= {201, 409}, statuses
        assert len({r.body["id"] for r in replies if r.status == 201}) == 1
        orders = await platform.scalar(
            'SELECT count(*) FROM "order"."order" WHERE user_id = :uid', uid=uid
        )
        captures = await platform.scalar(
            """SELECT count(*) FROM "order".test_provider_charge c JOIN "order".payment p
               ON p.idempotency_key = c.idempotency_key WHERE p.user_id = :uid""",
            uid=uid,
        )
        assert (orders, captures) == (1, 1)
        assert (await platform.stock(pid))["on_hand"] == 4

    async def test_one_cart_with_different_keys_concurrently_is_one_order(
        self, platform: Platform
    ) -> None:
        pid = await platform.product(price=900, stock=5)
        uid, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 2)

        replies = await asyncio.gather(
            *(platform.checkout(buyer, via=platform.orders[i % 2]) for i in range(6))
        )

        statuses = [r.status for r in replies]
        assert statuses.count(201) == 1, statuses
        assert set(statuses) <= {201, 409, 422}, statuses
        orders = await platform.scalar(
            """SELECT count(*) FROM "order"."order" WHERE user_id = :uid
               AND status <> 'payment_failed'""",
            uid=uid,
        )
        assert orders == 1
        assert (await platform.stock(pid))["on_hand"] == 3


class TestFaults:
    async def test_provider_times_out_after_it_captured(self, platform: Platform) -> None:
        slow = await platform.start_order(
            PRODUCT_URL=platform.products[1].url,
            TEST_PROVIDER_DELAY_AFTER_CAPTURE=6,
            PAYMENT_TIMEOUT_SECONDS=1.5,
        )
        pid = await platform.product(price=1200, stock=2)
        _, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 1)

        reply = await platform.checkout(buyer, via=slow)

        assert reply.status == 201, reply.body
        assert reply.body["payment"]["status"] == "captured"
        assert await platform.stock(pid) == {"on_hand": 1, "reserved": 0, "available": 1}
        slow.stop()

    async def test_killed_between_capture_and_commit_then_restarted_completes(
        self, platform: Platform
    ) -> None:
        doomed = await platform.start_order(
            ORDER_FAULT_POINT="after_capture",
            ORDER_FAULT_SLEEP_SECONDS=120,
            CHECKOUT_LEASE_SECONDS=5,
            RECONCILER_INTERVAL=3600,
        )
        pid = await platform.product(price=1100, stock=3)
        uid, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 2)
        key = f"crash-{uuid.uuid4().hex}"
        request = asyncio.create_task(platform.checkout(buyer, key=key, via=doomed))

        async def captured() -> object:
            return await platform.scalar(
                """SELECT o.id FROM "order"."order" o JOIN "order".payment p
                   ON p.order_id = o.id JOIN "order".test_provider_charge c
                   ON c.idempotency_key = p.idempotency_key
                   WHERE o.user_id = :uid AND c.status = 'captured'""",
                uid=uid,
            )

        order_id = await eventually(captured)
        assert (await platform.stock(pid))["reserved"] == 2
        doomed.kill()
        try:
            await request
        except Exception as exc:  # the connection died with the process
            assert "Server disconnected" in str(exc) or "Connection" in type(exc).__name__
        restarted = await platform.start_order(RECONCILER_INTERVAL=0.5)

        async def paid() -> object:
            reply = await platform.call(
                "GET", f"{restarted.url}/api/orders/{order_id}", headers=buyer
            )
            return reply.body if reply.body["status"] == "paid" else None

        order = await eventually(paid)
        assert order["payment"]["status"] == "captured"
        assert await platform.stock(pid) == {"on_hand": 1, "reserved": 0, "available": 1}
        assert await platform.cart_items(buyer) == {}
        replay = await platform.checkout(buyer, key=key, via=restarted)
        assert (replay.status, replay.body["id"]) == (201, str(order_id))
        assert replay.headers["Idempotent-Replayed"] == "true"

    async def test_killed_before_capture_releases_stock_and_charges_nothing(
        self, platform: Platform
    ) -> None:
        doomed = await platform.start_order(
            ORDER_FAULT_POINT="before_capture",
            ORDER_FAULT_SLEEP_SECONDS=120,
            CHECKOUT_LEASE_SECONDS=5,
            RECONCILER_INTERVAL=3600,
        )
        pid = await platform.product(price=1100, stock=3)
        uid, buyer = platform.buyer()
        await platform.add_to_cart(buyer, pid, 1)
        request = asyncio.create_task(platform.checkout(buyer, via=doomed))

        async def priced() -> object:
            return await platform.scalar(
                """SELECT id FROM "order"."order" WHERE user_id = :uid
                   AND priced_at IS NOT NULL""",
                uid=uid,
            )

        order_id = await eventually(priced)
        doomed.kill()
        with contextlib.suppress(Exception):  # the connection died with the process
            await request

        async def failed() -> object:
            status = await platform.scalar(
                'SELECT status FROM "order"."order" WHERE id = :id', id=order_id
            )
            return status == "payment_failed"

        await eventually(failed)

        async def released() -> bool:
            return await platform.stock(pid) == {"on_hand": 3, "reserved": 0, "available": 3}

        await eventually(released)
        assert await platform.cart_items(buyer) == {pid: 1}
        captured = await platform.scalar(
            """SELECT count(*) FROM "order".test_provider_charge
               WHERE idempotency_key = :key AND status = 'captured'""",
            key=f"{order_id}:1",
        )
        assert captured == 0


class TestStatementsPerCheckout:
    async def test_one_checkout_runs_few_sql_statements_across_services(
        self, platform: Platform
    ) -> None:
        """Counts what reaches PostgreSQL from the product and order services, run in-process
        here (workers off, so no relay or sweeper polls), whether through the ORM or plain
        asyncpg; the cart keeps its carts in Redis.

        The platform's own services still run their workers on the same database: the order
        relay publishes ``order.paid`` and the product's backup consumer may commit the
        reservation before the checkout's own commit call locks it. The checkout then finds it
        committed after one statement (correctly), so that measurement says nothing about the
        commit; it is taken again with a new buyer, up to three times."""
        env = {**platform.env, "EMPORA_RUN_WORKERS": "false"}
        async with serve(create_product_app(ProductSettings(**env))) as product:
            order_app = create_order_app(
                OrderSettings(**{**env, "PRODUCT_URL": product.url, "CART_URL": platform.cart.url})
            )
            async with serve(order_app) as order_server:
                pid = await platform.product(price=800, stock=10)
                warm_buyer = platform.buyer()[1]
                await platform.add_to_cart(warm_buyer, pid, 1)
                assert (await platform.checkout(warm_buyer, via=order_server)).status == 201
                for _attempt in range(3):
                    buyer = platform.buyer()[1]
                    await platform.add_to_cart(buyer, pid, 1)
                    with count_statements() as log:
                        measured = await platform.checkout(buyer, via=order_server)
                    assert measured.status == 201
                    product_sent = log.of("empora-product", "empora-product-fast")
                    if any("stock_movement" in s.sql for s in product_sent):
                        break  # this process committed the reservation itself
        order_sent = log.of("empora-order")
        statements = [s for s in order_sent + product_sent if not s.transaction_control]
        control = [s for s in order_sent + product_sent if s.transaction_control]
        print(
            f"\nSQL statements per checkout: {len(statements)} (order "
            f"{sum(not s.transaction_control for s in order_sent)}, product "
            f"{sum(not s.transaction_control for s in product_sent)}), plus {len(control)} "
            "BEGIN/COMMIT"
        )
        # Every step of the order service is one statement that commits by itself: claim,
        # pricing, the provider's booking, the end.
        assert [s for s in order_sent if s.transaction_control] == []
        assert len(order_sent) == 4
        # The product's reservation (create+read, one update per line, lines+events) and
        # commit (lock+read, one update per line, movements+events+status), each in one
        # transaction.
        assert any("stock_movement" in s.sql for s in product_sent), "never committed in-process"
        assert len([s for s in product_sent if not s.transaction_control]) == 6
        assert len(control) == 4
        assert len(statements) <= 15  # the goal across all services


class TestLedger:
    async def test_money_stock_and_events_agree_after_everything(self, platform: Platform) -> None:
        # Money: every paid (or later) order has exactly one capture; captures − refunds
        # are exactly the orders that kept their money.
        kept = await platform.scalar(
            """SELECT count(*) FROM "order"."order"
               WHERE status IN ('paid', 'shipped', 'delivered')"""
        )
        captures = await platform.scalar(
            """SELECT count(*) FROM "order".test_provider_charge
               WHERE kind = 'capture' AND status = 'captured'"""
        )
        refunds = await platform.scalar(
            """SELECT count(*) FROM "order".test_provider_charge WHERE kind = 'refund'"""
        )
        assert kept == captures - refunds
        unaccounted = await platform.scalar(
            """SELECT count(*) FROM "order".test_provider_charge c
               LEFT JOIN "order".payment p ON p.idempotency_key = c.idempotency_key
               LEFT JOIN "order"."order" o ON o.id = p.order_id
               WHERE c.kind = 'capture' AND c.status = 'captured'
               AND (o.id IS NULL
                    OR o.status NOT IN ('paid', 'shipped', 'delivered', 'cancelled'))"""
        )
        assert unaccounted == 0
        totals = await platform.scalar(
            """SELECT count(*) FROM "order"."order" o WHERE o.status <> 'pending' AND o.total <>
               (SELECT coalesce(sum(line_total), 0) FROM "order".order_line l
                WHERE l.order_id = o.id) + o.shipping AND o.priced_at IS NOT NULL"""
        )
        assert totals == 0
        assert (
            await platform.scalar(
                """SELECT count(*) FROM "order"."order" WHERE status = 'pending'"""
            )
            == 0
        )

        # Stock: initial = on hand + sold − returned, nothing reserved.
        for pid, initial in platform.initial_stock.items():
            stock = await platform.stock(pid)
            sold = await platform.scalar(
                """SELECT coalesce(sum(l.quantity), 0) FROM "order".order_line l
                   JOIN "order"."order" o ON o.id = l.order_id
                   WHERE l.product_id = :pid AND o.status IN
                   ('paid', 'shipped', 'delivered', 'cancelled')""",
                pid=pid,
            )
            returned = await platform.scalar(
                """SELECT coalesce(sum(l.quantity), 0) FROM "order".order_line l
                   JOIN "order"."order" o ON o.id = l.order_id
                   WHERE l.product_id = :pid AND o.status = 'cancelled'""",
                pid=pid,
            )
            assert stock["reserved"] == 0, pid
            assert initial == stock["on_hand"] + sold - returned, pid

        # Events: one of each kind per order, all published, each applied once by the
        # product service's consumer.
        duplicates = await platform.scalar(
            """SELECT count(*) FROM (SELECT event_type, aggregate_id FROM "order".outbox
               GROUP BY 1, 2 HAVING count(*) > 1) d"""
        )
        assert duplicates == 0

        async def all_published() -> bool:
            left = await platform.scalar(
                'SELECT count(*) FROM "order".outbox WHERE published_at IS NULL'
            )
            return left == 0

        await eventually(all_published)

        async def all_consumed() -> bool:
            missing = await platform.scalar(
                """SELECT count(*) FROM "order".outbox e WHERE e.event_type IN
                   ('order.paid', 'order.payment_failed', 'order.cancelled')
                   AND NOT EXISTS (SELECT 1 FROM product.inbox i
                   WHERE i.event_id = e.id AND i.consumer = 'product.orders')"""
            )
            return missing == 0

        await eventually(all_consumed)
