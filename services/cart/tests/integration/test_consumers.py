"""The cart's consumers against the real RabbitMQ: order.paid subtracts (once per order)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest

from empora_cart.app import create_app
from empora_common.messaging.envelope import Envelope
from empora_common.messaging.topology import Names
from empora_common.testing.infra import AppServer, TestInfra, remove_amqp_names, serve

QUEUES = ("cart.orders", "cart.products")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def envelope(event_type: str, data: dict[str, Any]) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        type=event_type,
        version=1,
        occurred_at=datetime.now(UTC),
        producer="test",
        data=data,
    )


def order_paid(user_id: uuid.UUID, order_id: uuid.UUID, lines: dict[uuid.UUID, int]) -> Envelope:
    money = {"amount": 0, "currency": "USD"}
    return envelope(
        "order.paid",
        {
            "order_id": str(order_id),
            "number": "EMP-20261125-7K3QX9",
            "user_id": str(user_id),
            "customer_email": "buyer@example.com",
            "reservation_id": str(uuid.uuid4()),
            "lines": [
                {
                    "product_id": str(pid),
                    "sku": "SKU",
                    "name": "Thing",
                    "quantity": qty,
                    "unit_price": money,
                    "line_total": money,
                }
                for pid, qty in lines.items()
            ],
            "subtotal": money,
            "shipping": money,
            "total": money,
        },
    )


@pytest.fixture(scope="module")
def names(prefix: str) -> Names:
    return Names(f"{prefix}consumers.")


@pytest.fixture(scope="module")
async def worker(settings_with: Any, names: Names, infra: TestInfra) -> AsyncIterator[AppServer]:
    """A cart app running its consumers, on exchange/queue names of its own."""
    settings = settings_with(
        EMPORA_RUN_WORKERS=True, AMQP_PREFIX=names.prefix, CONSUMER_DELIVERY_LIMIT=2
    )
    try:
        async with serve(create_app(settings)) as server:
            for queue in QUEUES:

                async def declared(name: str = names.queue(queue)) -> bool:
                    return await _queue_depth(infra.amqp_url, name) is not None

                await eventually(declared)
            yield server
    finally:
        await remove_amqp_names(infra.amqp_url, names.prefix, QUEUES)


async def _queue_depth(amqp_url: str, name: str) -> int | None:
    """Messages waiting in a queue; None while it does not exist."""
    conn = await aio_pika.connect(amqp_url)
    try:
        channel = await conn.channel()
        try:
            queue = await channel.declare_queue(name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return None
        return int(queue.declaration_result.message_count or 0)
    finally:
        await conn.close()


async def publish(amqp_url: str, names: Names, *events: Envelope) -> None:
    conn = await aio_pika.connect(amqp_url)
    try:
        channel = await conn.channel()
        exchange = await channel.get_exchange(names.events)
        for event in events:
            await exchange.publish(
                aio_pika.Message(event.to_bytes(), message_id=str(event.id)),
                routing_key=event.type,
            )
    finally:
        await conn.close()


async def add(api: Any, headers: dict[str, str], product_id: uuid.UUID, quantity: int) -> Any:
    reply = await api.post(
        "/api/cart/items",
        json={"product_id": str(product_id), "quantity": quantity},
        headers=headers,
    )
    assert reply.status == 201, reply.body
    return reply


class TestOrderPaid:
    async def test_subtracts_the_bought_lines_once_per_order(
        self,
        worker: AppServer,
        make_api: Any,
        names: Names,
        infra: TestInfra,
        catalog: Any,
        user: dict[str, str],
        user_id: uuid.UUID,
    ) -> None:
        api = make_api(worker)
        bought, kept = catalog.add(), catalog.add()
        await add(api, user, bought, 3)
        await add(api, user, kept, 1)
        order_id = uuid.uuid4()
        paid = order_paid(user_id, order_id, {bought: 2})

        await publish(infra.amqp_url, names, paid)

        async def subtracted() -> bool:
            cart = await api.get("/api/cart", headers=user)
            return bool(cart.body["item_count"] == 2)

        await eventually(subtracted)
        before = await api.get("/api/cart", headers=user)
        # The same event redelivered, and the same order in a new event: nothing more changes.
        await publish(infra.amqp_url, names, paid, order_paid(user_id, order_id, {bought: 2}))

        async def drained() -> bool:
            return await _queue_depth(infra.amqp_url, names.queue("cart.orders")) == 0

        await eventually(drained)
        await asyncio.sleep(0.3)
        after = await api.get("/api/cart", headers=user)
        assert after.body == before.body
        assert {i["product_id"]: i["quantity"] for i in after.body["items"]} == {
            str(bought): 1,
            str(kept): 1,
        }
        assert await _queue_depth(infra.amqp_url, names.dlq("cart.orders")) == 0

    async def test_an_event_the_handler_cannot_read_is_dead_lettered(
        self, worker: AppServer, names: Names, infra: TestInfra
    ) -> None:
        await publish(infra.amqp_url, names, envelope("order.paid", {"order_id": "nope"}))

        async def dead_lettered() -> bool:
            return await _queue_depth(infra.amqp_url, names.dlq("cart.orders")) == 1

        await eventually(dead_lettered, timeout=30)


class TestProductUpdated:
    async def test_is_consumed_and_acknowledged(
        self, worker: AppServer, names: Names, infra: TestInfra
    ) -> None:
        event = envelope("product.updated", {"product_id": str(uuid.uuid4()), "changed": {}})

        await publish(infra.amqp_url, names, event)

        async def drained() -> bool:
            return await _queue_depth(infra.amqp_url, names.queue("cart.products")) == 0

        await eventually(drained)
        assert await _queue_depth(infra.amqp_url, names.dlq("cart.products")) == 0
