"""Checkout while the broker is unreachable: the outbox keeps the events, business goes on.

(A broker that dies mid-run needs a private broker; here the order service's AMQP URL points
at a port where nothing listens, which is what a relay sees while the broker is down. The
service gets a database of its own, so no other test's relay publishes its outbox.)
"""

from __future__ import annotations

import aiohttp
import sqlalchemy as sa
from order_testkit import Api, CartStandIn, ProductStandIn

from empora_common.db import create_engine
from empora_common.testing.infra import (
    TestInfra,
    drop_database,
    free_port,
    migrated_database,
    serve,
)
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
