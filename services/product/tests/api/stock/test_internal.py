"""``/internal/reservations`` and ``/internal/returns``: atomic, idempotent, never oversold."""

from __future__ import annotations

import asyncio
import uuid

from product_api import Api, assert_problem
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def expire(sessionmaker: async_sessionmaker[AsyncSession], reservation_id: str) -> None:
    """Move a reservation's expiry into the past (as if its TTL had run out)."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "UPDATE product.reservation SET expires_at = now() - interval '1 second'"
                " WHERE id = :id"
            ),
            {"id": reservation_id},
        )


async def status_of(sessionmaker: async_sessionmaker[AsyncSession], reservation_id: str) -> str:
    async with sessionmaker() as session:
        return str(
            await session.scalar(
                text("SELECT status FROM product.reservation WHERE id = :id"),
                {"id": reservation_id},
            )
        )


class TestInternalCredential:
    async def test_internal_routes_need_the_internal_token(self, api: Api) -> None:
        body = {"reservation_id": str(uuid.uuid4()), "lines": []}
        assert_problem(await api.post("/internal/reservations", json=body), 401)
        assert_problem(
            await api.post(
                "/internal/reservations", json=body, headers={"X-Internal-Token": "wrong"}
            ),
            401,
        )
        assert_problem(await api.post("/internal/products/lookup", json={"ids": []}), 401)


class TestReserve:
    async def test_reserves_and_snapshots_prices(self, api: Api) -> None:
        a = await api.create_product("R-A", price=1500, stock=5)
        b = await api.create_product("R-B", price=700, stock=5)
        order_id = str(uuid.uuid4())
        reply = await api.reserve([(a["id"], 2), (b["id"], 1), (a["id"], 1)], order_id=order_id)
        assert reply.status == 201, reply.body
        assert reply.body["status"] == "active"
        assert reply.body["order_id"] == order_id
        assert reply.body["expires_at"].endswith("Z")
        lines = {line["product_id"]: line for line in reply.body["lines"]}
        assert lines[a["id"]]["quantity"] == 3  # duplicate lines are summed
        assert lines[a["id"]]["unit_price"] == {"amount": 1500, "currency": "USD"}
        assert lines[b["id"]]["sku"] == "R-B"
        assert (await api.stock(a["id"]))["reserved"] == 3

    async def test_the_same_id_answers_the_existing_reservation(self, api: Api) -> None:
        product = await api.create_product("R-I", stock=5)
        rid = str(uuid.uuid4())
        first = await api.reserve([(product["id"], 2)], reservation_id=rid)
        second = await api.reserve([(product["id"], 2)], reservation_id=rid)
        assert (first.status, second.status) == (201, 200)
        assert first.body == second.body
        assert (await api.stock(product["id"]))["reserved"] == 2

    async def test_all_or_nothing_with_every_short_line(self, api: Api) -> None:
        plenty = await api.create_product("R-P", stock=10)
        scarce = await api.create_product("R-S", stock=1)
        archived = await api.create_product("R-X", stock=10)
        await api.delete(f"/api/products/{archived['id']}", headers=api.admin)
        unknown = str(uuid.uuid4())
        reply = await api.reserve(
            [(plenty["id"], 3), (scarce["id"], 2), (archived["id"], 1), (unknown, 1)]
        )
        assert_problem(reply, 409, "out-of-stock")
        short = {line["product_id"]: line for line in reply.body["short_lines"]}
        assert short[scarce["id"]] == {"product_id": scarce["id"], "requested": 2, "available": 1}
        assert short[archived["id"]]["available"] == 0
        assert short[unknown]["available"] == 0
        assert plenty["id"] not in short
        assert (await api.stock(plenty["id"]))["reserved"] == 0  # nothing stays reserved

    async def test_rejects_invalid_lines(self, api: Api) -> None:
        product = await api.create_product("R-V", stock=1)
        assert_problem(await api.reserve([]), 422)
        assert_problem(await api.reserve([(product["id"], 0)]), 422)
        assert_problem(await api.reserve([("not-a-uuid", 1)]), 422)

    async def test_fifty_concurrent_reservations_never_oversell(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        product = await api.create_product("R-C", stock=10)
        other = await api.create_product("R-D", stock=100)
        lows: list[int] = []

        async def watch() -> None:
            while True:
                async with sessionmaker() as session:
                    lows.append(
                        int(
                            await session.scalar(
                                text(
                                    "SELECT on_hand - reserved FROM product.stock"
                                    " WHERE product_id = :id"
                                ),
                                {"id": product["id"]},
                            )
                        )
                    )
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        # Lines in both orders: locks are taken in product-id order, so no deadlock either.
        replies = await asyncio.gather(
            *(
                api.reserve(
                    [(product["id"], 1), (other["id"], 1)]
                    if i % 2
                    else [(other["id"], 1), (product["id"], 1)]
                )
                for i in range(50)
            )
        )
        watcher.cancel()
        statuses = sorted(r.status for r in replies)
        assert statuses.count(201) == 10
        assert statuses.count(409) == 40
        assert all(r.body["type"].endswith("/out-of-stock") for r in replies if r.status == 409)
        assert await api.stock(product["id"]) == {
            "product_id": product["id"],
            "on_hand": 10,
            "reserved": 10,
            "available": 0,
        }
        assert (await api.stock(other["id"]))["reserved"] == 10
        assert lows and min(lows) >= 0


class TestCommit:
    async def test_stock_leaves_on_hand_and_the_movement_is_recorded(self, api: Api) -> None:
        product = await api.create_product("CM-1", stock=5)
        order_id = str(uuid.uuid4())
        rid = (await api.reserve([(product["id"], 2)], order_id=order_id)).body["reservation_id"]
        reply = await api.post(f"/internal/reservations/{rid}/commit", headers=api.internal)
        assert reply.status == 200, reply.body
        assert reply.body["status"] == "committed"
        assert await api.stock(product["id"]) == {
            "product_id": product["id"],
            "on_hand": 3,
            "reserved": 0,
            "available": 3,
        }
        history = await api.get(f"/api/products/{product['id']}/stock/movements", headers=api.admin)
        latest = history.body["data"][0]
        assert (latest["kind"], latest["delta"]) == ("commit", -2)
        assert latest["reference"] == f"order:{order_id}"

    async def test_is_idempotent(self, api: Api) -> None:
        product = await api.create_product("CM-2", stock=5)
        rid = (await api.reserve([(product["id"], 2)])).body["reservation_id"]
        first = await api.post(f"/internal/reservations/{rid}/commit", headers=api.internal)
        second = await api.post(f"/internal/reservations/{rid}/commit", headers=api.internal)
        assert first.status == second.status == 200
        assert first.body == second.body
        assert (await api.stock(product["id"]))["on_hand"] == 3

    async def test_after_expiry_re_reserves_when_the_stock_is_there(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        product = await api.create_product("CM-3", stock=5)
        rid = (await api.reserve([(product["id"], 2)])).body["reservation_id"]
        await expire(sessionmaker, rid)
        await _wait_for(lambda: status_of(sessionmaker, rid), "expired")
        assert (await api.stock(product["id"]))["reserved"] == 0
        reply = await api.post(f"/internal/reservations/{rid}/commit", headers=api.internal)
        assert reply.status == 200, reply.body
        assert reply.body["status"] == "committed"
        assert await api.stock(product["id"]) == {
            "product_id": product["id"],
            "on_hand": 3,
            "reserved": 0,
            "available": 3,
        }

    async def test_after_expiry_reports_the_shortfall_and_never_goes_negative(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        product = await api.create_product("CM-4", stock=3)
        spare = await api.create_product("CM-5", stock=3)
        rid = (await api.reserve([(product["id"], 3), (spare["id"], 1)])).body["reservation_id"]
        await expire(sessionmaker, rid)
        await _wait_for(lambda: status_of(sessionmaker, rid), "expired")
        assert (await api.reserve([(product["id"], 2)])).status == 201  # someone else buys
        reply = await api.post(f"/internal/reservations/{rid}/commit", headers=api.internal)
        assert_problem(reply, 409, "out-of-stock")
        assert reply.body["short_lines"] == [
            {"product_id": product["id"], "requested": 3, "available": 1}
        ]
        assert await status_of(sessionmaker, rid) == "expired"
        assert (await api.stock(product["id"]))["on_hand"] == 3
        assert (await api.stock(spare["id"]))["on_hand"] == 3  # rolled back with the rest

    async def test_unknown_reservation_is_404(self, api: Api) -> None:
        reply = await api.post(
            f"/internal/reservations/{uuid.uuid4()}/commit", headers=api.internal
        )
        assert_problem(reply, 404, "reservation-not-found")


class TestRelease:
    async def test_releases_and_is_idempotent(self, api: Api) -> None:
        product = await api.create_product("RL-1", stock=5)
        rid = (await api.reserve([(product["id"], 4)])).body["reservation_id"]
        first = await api.post(f"/internal/reservations/{rid}/release", headers=api.internal)
        second = await api.post(f"/internal/reservations/{rid}/release", headers=api.internal)
        assert first.status == second.status == 200
        assert first.body["status"] == second.body["status"] == "released"
        assert (await api.stock(product["id"]))["reserved"] == 0

    async def test_releasing_a_committed_reservation_is_a_conflict(self, api: Api) -> None:
        product = await api.create_product("RL-2", stock=5)
        rid = (await api.reserve([(product["id"], 1)])).body["reservation_id"]
        await api.post(f"/internal/reservations/{rid}/commit", headers=api.internal)
        reply = await api.post(f"/internal/reservations/{rid}/release", headers=api.internal)
        assert_problem(reply, 409, "reservation-committed")

    async def test_unknown_reservation_is_404(self, api: Api) -> None:
        reply = await api.post(
            f"/internal/reservations/{uuid.uuid4()}/release", headers=api.internal
        )
        assert_problem(reply, 404)


class TestReleasedForGood:
    async def test_an_expired_reservation_is_released_and_never_committed_after(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        product = await api.create_product("RG-1", stock=3)
        rid = (await api.reserve([(product["id"], 2)], ttl_seconds=1)).body["reservation_id"]
        await _wait_for(lambda: status_of(sessionmaker, rid), "expired")
        released = await api.post(f"/internal/reservations/{rid}/release", headers=api.internal)
        assert released.status == 200 and released.body["status"] == "released"
        # A late commit (the order.paid consumer's backup) cannot take the stock any more.
        late = await api.post(f"/internal/reservations/{rid}/commit", headers=api.internal)
        assert_problem(late, 409, "reservation-released")
        assert await api.stock(product["id"]) == {
            "product_id": product["id"],
            "on_hand": 3,
            "reserved": 0,
            "available": 3,
        }


class TestSweeper:
    async def test_releases_expired_uncommitted_reservations(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        product = await api.create_product("SW-1", stock=5)
        expiring = await api.reserve([(product["id"], 2)], ttl_seconds=1)
        lasting = await api.reserve([(product["id"], 1)])
        committed = await api.reserve([(product["id"], 1)], ttl_seconds=1)
        await api.post(
            f"/internal/reservations/{committed.body['reservation_id']}/commit",
            headers=api.internal,
        )
        await _wait_for(lambda: status_of(sessionmaker, expiring.body["reservation_id"]), "expired")
        assert await status_of(sessionmaker, lasting.body["reservation_id"]) == "active"
        assert await status_of(sessionmaker, committed.body["reservation_id"]) == "committed"
        assert await api.stock(product["id"]) == {
            "product_id": product["id"],
            "on_hand": 4,
            "reserved": 1,
            "available": 3,
        }


class TestReturns:
    async def test_returns_stock_once_per_order(self, api: Api) -> None:
        product = await api.create_product("RT-1", stock=5)
        rid = (await api.reserve([(product["id"], 2)])).body["reservation_id"]
        await api.post(f"/internal/reservations/{rid}/commit", headers=api.internal)
        order_id = str(uuid.uuid4())
        body = {"order_id": order_id, "lines": [{"product_id": product["id"], "quantity": 2}]}
        first = await api.post("/internal/returns", json=body, headers=api.internal)
        second = await api.post("/internal/returns", json=body, headers=api.internal)
        assert first.status == second.status == 200
        assert first.body == {"order_id": order_id, "returned": True}
        assert (await api.stock(product["id"]))["on_hand"] == 5
        history = await api.get(f"/api/products/{product['id']}/stock/movements", headers=api.admin)
        returns = [m for m in history.body["data"] if m["kind"] == "return"]
        assert len(returns) == 1
        assert returns[0]["reference"] == f"order:{order_id}"

    async def test_nothing_comes_back_for_an_order_whose_reservation_was_not_committed(
        self, api: Api
    ) -> None:
        product = await api.create_product("RT-2", stock=5)
        order_id = str(uuid.uuid4())
        rid = (await api.reserve([(product["id"], 2)], order_id=order_id)).body["reservation_id"]
        await api.post(f"/internal/reservations/{rid}/release", headers=api.internal)
        body = {"order_id": order_id, "lines": [{"product_id": product["id"], "quantity": 2}]}
        reply = await api.post("/internal/returns", json=body, headers=api.internal)
        assert reply.status == 200
        assert (await api.stock(product["id"]))["on_hand"] == 5  # never left, never added


class TestLookup:
    async def test_one_call_for_many_products(self, api: Api) -> None:
        a = await api.create_product("LK-1", price=1200, stock=4)
        b = await api.create_product("LK-2", stock=1)
        await api.reserve([(a["id"], 1)])
        await api.delete(f"/api/products/{b['id']}", headers=api.admin)
        reply = await api.post(
            "/internal/products/lookup",
            json={"ids": [a["id"], b["id"], str(uuid.uuid4())]},
            headers=api.internal,
        )
        assert reply.status == 200, reply.body
        found = {p["id"]: p for p in reply.body["products"]}
        assert set(found) == {a["id"], b["id"]}
        assert found[a["id"]] == {
            "id": a["id"],
            "sku": "LK-1",
            "slug": a["slug"],
            "name": a["name"],
            "price": {"amount": 1200, "currency": "USD"},
            "is_active": True,
            "on_hand": 4,
            "reserved": 1,
            "available": 3,
        }
        assert found[b["id"]]["is_active"] is False

    async def test_rejects_too_many_or_no_ids(self, api: Api) -> None:
        ids = [str(uuid.uuid4()) for _ in range(201)]
        assert_problem(
            await api.post("/internal/products/lookup", json={"ids": ids}, headers=api.internal),
            422,
        )
        assert_problem(
            await api.post("/internal/products/lookup", json={"ids": []}, headers=api.internal),
            422,
        )


async def _wait_for(probe, expected: str, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Poll until the probe answers ``expected`` (the sweeper runs every 0.2 s in tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = None
    while loop.time() < deadline:
        value = await probe()
        if value == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"still {value!r} after {timeout}s, expected {expected!r}")
