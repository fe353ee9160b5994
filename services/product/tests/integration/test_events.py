"""``product.updated`` and ``stock.changed`` leave through the outbox to the real broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import orjson
from product_api import Api

from empora_common.messaging.topology import Names, declare_events_exchange
from empora_common.testing.infra import TestInfra
from empora_product.settings import ProductSettings


async def published(
    infra: TestInfra,
    settings: ProductSettings,
    act: Callable[[], Awaitable[Any]],
    routing_keys: tuple[str, ...],
    count: int,
    keep: Callable[[dict[str, Any]], bool] = lambda _event: True,
) -> list[dict[str, Any]]:
    """The events with these routing keys published once ``act()`` ran that ``keep`` accepts,
    until ``count`` of them came (or 15 s)."""
    names = Names(settings.amqp_prefix)
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await declare_events_exchange(channel, names)
        queue = await channel.declare_queue(
            f"{settings.amqp_prefix}test.product-events.{uuid.uuid4().hex[:6]}", exclusive=True
        )
        for key in routing_keys:
            await queue.bind(exchange, routing_key=key)
        await act()
        received: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while len(received) < count and loop.time() < deadline:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            await message.ack()
            event = orjson.loads(message.body)
            if keep(event):
                received.append(event)
    return received


async def stock_events(
    infra: TestInfra, settings: ProductSettings, act: Any, product_id: str, reasons: int
) -> list[dict[str, Any]]:
    """The data of one product's ``stock.changed`` events but its initial stock."""

    def mine(event: dict[str, Any]) -> bool:
        return bool(event["aggregate_id"] == product_id and event["data"]["reason"] != "initial")

    events = await published(infra, settings, act, ("stock.changed",), reasons, mine)
    return [event["data"] for event in events]


class TestReservationEvents:
    async def test_reserve_and_commit_are_published_in_order(
        self, api: Api, infra: TestInfra, settings: ProductSettings
    ) -> None:
        product = await api.create_product("EV-1", stock=5)
        rid = str(uuid.uuid4())

        async def act() -> None:
            assert (await api.reserve([(product["id"], 2)], reservation_id=rid)).status == 201
            reply = await api.post(f"/internal/reservations/{rid}/commit", headers=api.internal)
            assert reply.status == 200

        events = await stock_events(infra, settings, act, product["id"], 2)
        assert [(d["reason"], d["on_hand"], d["reserved"]) for d in events] == [
            ("reserved", 5, 2),
            ("committed", 3, 0),
        ]

    async def test_a_reservation_left_alone_is_still_published(
        self, api: Api, infra: TestInfra, settings: ProductSettings
    ) -> None:
        # The reservation's own statement wakes no relay (its commit normally does): the
        # relay's polling publishes it when nothing follows.
        product = await api.create_product("EV-2", stock=5)

        async def act() -> None:
            assert (await api.reserve([(product["id"], 1)])).status == 201

        events = await stock_events(infra, settings, act, product["id"], 1)
        assert [(d["reason"], d["available"]) for d in events] == [("reserved", 4)]


class TestOutboxEvents:
    async def test_admin_changes_are_published(
        self, api: Api, infra: TestInfra, settings: ProductSettings
    ) -> None:
        product: dict[str, Any] = {}

        async def act() -> None:
            product.update(await api.create_product("OB-1", stock=3))
            await api.patch(
                f"/api/products/{product['id']}", json={"price": 4200}, headers=api.admin
            )
            await api.put(
                f"/api/products/{product['id']}/stock", json={"quantity": 9}, headers=api.admin
            )

        received = await published(infra, settings, act, ("product.updated", "stock.changed"), 4)

        by_type = [(e["type"], e["data"]) for e in received if e["aggregate_id"] == product["id"]]
        updates = [d for t, d in by_type if t == "product.updated"]
        stock = [d for t, d in by_type if t == "stock.changed"]
        assert updates[0]["changed"]["sku"] == "OB-1"
        assert updates[1]["changed"] == {"price": {"amount": 4200, "currency": "USD"}}
        assert [(s["on_hand"], s["available"], s["reason"]) for s in stock] == [
            (3, 3, "initial"),
            (9, 9, "set"),
        ]
        assert all(e["producer"] == "product" and e["version"] == 1 for e in received)
