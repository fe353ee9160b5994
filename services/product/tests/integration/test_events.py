"""``product.updated`` and ``stock.changed`` leave through the outbox to the real broker."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aio_pika
import orjson
from product_api import Api

from empora_common.messaging.topology import Names, declare_events_exchange
from empora_common.testing.infra import TestInfra
from empora_product.settings import ProductSettings


class TestOutboxEvents:
    async def test_admin_changes_are_published(
        self, api: Api, infra: TestInfra, settings: ProductSettings
    ) -> None:
        names = Names(settings.amqp_prefix)
        connection = await aio_pika.connect(infra.amqp_url)
        async with connection:
            channel = await connection.channel()
            exchange = await declare_events_exchange(channel, names)
            queue = await channel.declare_queue(
                f"{settings.amqp_prefix}test.product-events.{uuid.uuid4().hex[:6]}",
                exclusive=True,
            )
            await queue.bind(exchange, routing_key="product.updated")
            await queue.bind(exchange, routing_key="stock.changed")

            product = await api.create_product("OB-1", stock=3)
            await api.patch(
                f"/api/products/{product['id']}", json={"price": 4200}, headers=api.admin
            )
            await api.put(
                f"/api/products/{product['id']}/stock", json={"quantity": 9}, headers=api.admin
            )

            received: list[dict[str, Any]] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 15
            while len(received) < 4 and loop.time() < deadline:
                message = await queue.get(fail=False)
                if message is None:
                    await asyncio.sleep(0.1)
                    continue
                await message.ack()
                received.append(orjson.loads(message.body))

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
