"""Checkouts, admin edits and sweepers at the same time: no deadlock, no double release."""

from __future__ import annotations

import asyncio
import uuid

from product_api import Api
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from empora_common.db import driver_connection
from empora_product.stock.schemas import Line, ReservationIn
from empora_product.stock.service import reserve
from empora_product.stock.sweeper import sweep_once


class TestConcurrentStockWork:
    async def test_checkouts_and_admin_edits_never_deadlock(self, api: Api) -> None:
        product = await api.create_product("CC-1", stock=1000)
        pid = product["id"]

        async def checkout() -> int:
            reply = await api.reserve([(pid, 1)])
            if reply.status != 201:
                return reply.status
            rid = reply.body["reservation_id"]
            commit = await api.post(f"/internal/reservations/{rid}/commit", headers=api.internal)
            return commit.status

        async def admin(i: int) -> int:
            if i % 2:
                reply = await api.patch(
                    f"/api/products/{pid}", json={"name": f"Name {i}"}, headers=api.admin
                )
            else:
                reply = await api.post(
                    f"/api/products/{pid}/stock/adjustments",
                    json={"delta": 1, "reason": "recount"},
                    headers=api.admin,
                )
            return reply.status

        statuses = await asyncio.gather(
            *(checkout() for _ in range(30)), *(admin(i) for i in range(20))
        )
        assert set(statuses) == {200}, statuses
        stock = await api.stock(pid)
        assert stock == {
            "product_id": pid,
            "on_hand": 1000 - 30 + 10,
            "reserved": 0,
            "available": 980,
        }

    async def test_parallel_sweepers_release_each_reservation_once(
        self, api: Api, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        product = await api.create_product("CC-2", stock=100)
        pid = uuid.UUID(product["id"])
        async with sessionmaker() as session, session.begin():
            conn = await driver_connection(session)
            for _ in range(40):
                await reserve(
                    conn,
                    ReservationIn(
                        reservation_id=uuid.uuid4(),
                        lines=[Line(product_id=pid, quantity=2)],
                        ttl_seconds=1,
                    ),
                    600,
                )
            await session.execute(
                text("UPDATE product.reservation SET expires_at = now() - interval '1 minute'")
            )
        kept = await api.reserve([(product["id"], 5)])
        assert kept.status == 201
        released = await asyncio.gather(*(sweep_once(sessionmaker, 7) for _ in range(6)))
        while sum(released) < 40:
            more = await sweep_once(sessionmaker, 50)
            if not more:
                break
            released.append(more)
        async with sessionmaker() as session:
            statuses = dict(
                (
                    await session.execute(
                        text("SELECT status, count(*) FROM product.reservation GROUP BY status")
                    )
                ).all()
            )
        # The service's own sweeper may have taken some: together, each exactly once.
        assert statuses == {"expired": 40, "active": 1}
        assert await api.stock(product["id"]) == {
            "product_id": product["id"],
            "on_hand": 100,
            "reserved": 5,
            "available": 95,
        }
