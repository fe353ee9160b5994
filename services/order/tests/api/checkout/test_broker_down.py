"""Checkout while the broker is unreachable: the outbox keeps the events, business goes on.

(A broker that dies mid-run needs a private broker; here the order service's AMQP URL points
at a port where nothing listens, which is what a relay sees while the broker is down. The
service gets a database of its own, so no other test's relay publishes its outbox.)
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import aiohttp
import sqlalchemy as sa
from order_testkit import Api, CartStandIn, ProductStandIn

from empora_common.db import create_engine
from empora_common.messaging.topology import Names, declare_events_exchange
from empora_common.testing.infra import (
    TestInfra,
    drop_database,
    free_port,
    migrated_database,
    remove_amqp_names,
    serve,
)
from empora_common.testing.tcpproxy import TcpProxy
from empora_common.testing.tokens import TestSigner
from empora_order.app import create_app
from empora_order.models import outbox
from empora_order.settings import OrderSettings


class TestCheckoutWithoutBroker:
    async def test_pays_keeps_events_unpublished_and_reports_degraded(
        self,
        settings: OrderSettings,
        signer: TestSigner,
        clean: None,
        products: ProductStandIn,
        carts: CartStandIn,
        infra: TestInfra,
    ) -> None:
        name, url = await migrated_database(infra.admin_database_url, ("order",))
        offline = settings.model_copy(
            update={
                "amqp_url": f"amqp://guest:guest@127.0.0.1:{free_port()}/",
                "database_url": url,
            }
        )
        engine = create_engine(url, pool_size=1)
        async with (
            serve(create_app(offline)) as server,
            aiohttp.ClientSession(base_url=server.url) as session,
        ):
            api = Api(session, signer)
            buyer = api.buyer()
            pid = products.add(stock=2)
            carts.put(buyer.id, pid, 1)

            reply = await api.checkout(buyer)
            health = await api.call("GET", "/health")

        assert reply.status == 201
        assert products.products[pid].on_hand == 1
        assert health.body["status"] == "degraded"
        assert health.body["checks"]["broker"] != "ok"
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(outbox.c.event_type, outbox.c.published_at).where(
                        outbox.c.aggregate_id == reply.body["id"]
                    )
                )
            ).all()
        await engine.dispose()
        await drop_database(infra.admin_database_url, name)
        assert sorted(r.event_type for r in rows) == ["order.created", "order.paid"]
        assert all(r.published_at is None for r in rows)


class TestBrokerDiesMidRun:
    async def test_events_of_checkouts_during_the_outage_are_delivered_once_after_it(
        self,
        settings: OrderSettings,
        signer: TestSigner,
        clean: None,
        products: ProductStandIn,
        carts: CartStandIn,
        infra: TestInfra,
    ) -> None:
        """The broker vanishes between two checkouts (its connections cut and its port
        closed, through a TCP proxy: the shared broker itself is never stopped); the second
        checkout still succeeds, and once the broker is back every event arrives once."""
        name, url = await migrated_database(infra.admin_database_url, ("order",))
        parts = urlsplit(infra.amqp_url)
        proxy = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672).start()
        prefix = f"bd{uuid.uuid4().hex[:6]}."
        via_proxy = settings.model_copy(
            update={
                "amqp_url": f"amqp://guest:guest@127.0.0.1:{proxy.port}/",
                "amqp_prefix": prefix,
                "database_url": url,
                "outbox_poll_interval": 0.2,
            }
        )
        # A witness queue bound to every order event, declared before anything is published.
        conn = await aio_pika.connect(infra.amqp_url)
        channel = await conn.channel()
        exchange = await declare_events_exchange(channel, Names(prefix))
        witness = await channel.declare_queue(f"{prefix}witness", auto_delete=True)
        await witness.bind(exchange, routing_key="order.*")
        engine = create_engine(url, pool_size=1)

        async def unpublished() -> int:
            async with engine.connect() as db:
                return int(
                    await db.scalar(
                        sa.select(sa.func.count()).where(outbox.c.published_at.is_(None))
                    )
                    or 0
                )

        async def settle(condition: Any) -> None:
            for _ in range(200):
                if await condition():
                    return
                await asyncio.sleep(0.1)
            raise AssertionError("not settled")

        try:
            async with (
                serve(create_app(via_proxy)) as server,
                aiohttp.ClientSession(base_url=server.url) as session,
            ):
                api = Api(session, signer)
                first, second = api.buyer(), api.buyer()
                pid = products.add(stock=5)
                carts.put(first.id, pid, 1)
                carts.put(second.id, pid, 1)

                assert (await api.checkout(first)).status == 201

                async def all_published() -> bool:
                    return await unpublished() == 0

                await settle(all_published)
                await proxy.cut()  # the broker is gone
                during = await api.checkout(second)
                assert during.status == 201
                await asyncio.sleep(1.0)
                assert await unpublished() == 2  # order.created + order.paid wait in the outbox
                await proxy.restore()
                await settle(all_published)

            async with engine.connect() as db:
                expected = {str(r.id) for r in await db.execute(sa.select(outbox.c.id))}
            seen: list[str] = []
            for _ in range(100):
                message = await witness.get(fail=False, timeout=5)
                if message is None:
                    if len(seen) >= len(expected):
                        break
                    await asyncio.sleep(0.1)
                    continue
                seen.append(str(message.message_id))
                await message.ack()
            assert sorted(seen) == sorted(expected)  # every event, each exactly once
            assert len(expected) == 4
        finally:
            await proxy.stop()
            await conn.close()
            await engine.dispose()
            await drop_database(infra.admin_database_url, name)
            await remove_amqp_names(infra.amqp_url, prefix, queues=("witness",))
