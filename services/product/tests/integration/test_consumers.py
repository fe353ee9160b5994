"""The ``product.orders`` consumer through a real RabbitMQ (the run's prefix)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest
from product_api import Api
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from empora_common.messaging.envelope import Envelope
from empora_common.messaging.topology import Names, declare_events_exchange
from empora_common.testing.infra import TestInfra
from empora_product.consumers import QUEUE
from empora_product.settings import ProductSettings


class Publisher:
    def __init__(self, exchange: aio_pika.abc.AbstractExchange) -> None:
        self.exchange = exchange

    async def publish(self, event_type: str, data: dict[str, Any], event_id: uuid.UUID) -> None:
        envelope = Envelope(
            id=event_id,
            type=event_type,
            version=1,
            occurred_at=datetime.now(UTC),
            producer="order",
            aggregate_id=data.get("order_id"),
            data=data,
        )
        await self.exchange.publish(
            aio_pika.Message(envelope.to_bytes(), message_id=str(event_id)),
            routing_key=event_type,
        )


@pytest.fixture
async def publisher(
    api: Api, infra: TestInfra, settings: ProductSettings
) -> AsyncIterator[Publisher]:
    names = Names(settings.amqp_prefix)
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await declare_events_exchange(channel, names)
        # The service declares and binds its queue when it starts consuming: wait for it.
        for _ in range(100):
            probe = await connection.channel()
            try:
                await probe.declare_queue(names.queue(QUEUE), passive=True)
                break
            except aio_pika.exceptions.ChannelClosed:
                await asyncio.sleep(0.1)
        yield Publisher(exchange)


async def eventually(probe: Any, expected: Any, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = None
    while loop.time() < deadline:
        value = await probe()
        if value == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"still {value!r}, expected {expected!r}")


async def inbox_count(sessionmaker: async_sessionmaker[AsyncSession], event_id: uuid.UUID) -> int:
    async with sessionmaker() as session:
        return int(
            await session.scalar(
                text("SELECT count(*) FROM product.inbox WHERE event_id = :id"), {"id": event_id}
            )
            or 0
        )


class TestOrderConsumers:
    async def test_order_paid_commits_the_reservation_once(
        self,
        api: Api,
        publisher: Publisher,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        product = await api.create_product("EV-1", stock=5)
        rid = (await api.reserve([(product["id"], 2)])).body["reservation_id"]
        event_id = uuid.uuid4()
        data = {"order_id": str(uuid.uuid4()), "reservation_id": rid, "lines": []}
        await publisher.publish("order.paid", data, event_id)
        await publisher.publish("order.paid", data, event_id)  # a redelivery

        async def on_hand() -> int:
            return int((await api.stock(product["id"]))["on_hand"])

        await eventually(on_hand, 3)
        await eventually(lambda: inbox_count(sessionmaker, event_id), 1)
        assert (await api.stock(product["id"]))["reserved"] == 0

    async def test_order_payment_failed_releases_the_reservation(
        self, api: Api, publisher: Publisher
    ) -> None:
        product = await api.create_product("EV-2", stock=5)
        rid = (await api.reserve([(product["id"], 4)])).body["reservation_id"]
        await publisher.publish(
            "order.payment_failed",
            {"order_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "reservation_id": rid},
            uuid.uuid4(),
        )

        async def reserved() -> int:
            return int((await api.stock(product["id"]))["reserved"])

        await eventually(reserved, 0)

    async def test_order_cancelled_returns_the_stock_once_per_order(
        self, api: Api, publisher: Publisher
    ) -> None:
        product = await api.create_product("EV-3", stock=5)
        order_id = str(uuid.uuid4())
        line = {"product_id": product["id"], "quantity": 2, "sku": "EV-3", "name": "x"}
        data = {"order_id": order_id, "number": "EMP-1", "lines": [line]}
        # Two different events for the same order: the return happens once.
        await publisher.publish("order.cancelled", data, uuid.uuid4())
        await publisher.publish("order.cancelled", data, uuid.uuid4())

        async def on_hand() -> int:
            return int((await api.stock(product["id"]))["on_hand"])

        await eventually(on_hand, 7)
        await asyncio.sleep(0.5)
        assert await on_hand() == 7

    async def test_an_event_for_an_unknown_reservation_is_acknowledged(
        self,
        api: Api,
        publisher: Publisher,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        event_id = uuid.uuid4()
        await publisher.publish(
            "order.paid",
            {"order_id": str(uuid.uuid4()), "reservation_id": str(uuid.uuid4())},
            event_id,
        )
        await eventually(lambda: inbox_count(sessionmaker, event_id), 1)
