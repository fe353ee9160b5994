"""Latency of the email path: ``order.paid`` committed to an outbox -> email accepted by SMTP.

The full production path, measured end to end on the real infrastructure:
producer transaction commits an outbox row -> OutboxRelay (LISTEN/NOTIFY) publishes it with
confirms -> RabbitMQ -> the notification service's consumer writes inbox + notification row
(NOTIFY) -> the sender loop claims it and sends it with aiosmtplib -> aiosmtpd accepts it.
Beside it, in the same run, a bare aio-pika publish (persistent, confirmed) -> consume round
trip, the floor any broker-based path pays.

Standalone: ``uv run python bench/notification_latency.py [--count N]``. Uses a throwaway
database, AMQP names with a private prefix, and free ports; removes them and stops by itself
(well within a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
import uuid
from typing import Any

import aio_pika
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import text

from empora_common.db import create_engine, create_sessionmaker, make_metadata
from empora_common.messaging.outbox import OutboxRelay, add_event
from empora_common.messaging.tables import outbox_table
from empora_common.messaging.topology import Names, declare_consumer_queue
from empora_common.testing.infra import (
    discover_test_infra,
    drop_database,
    migrated_database,
    remove_amqp_names,
    remove_redis_keys,
    serve,
)
from empora_contracts.events import MoneyData, OrderLineData, OrderPaid
from empora_notification.app import create_app
from empora_notification.consumers import EMAILS_QUEUE, email_subscription
from empora_notification.emails.rendering import EmailRenderer
from empora_notification.settings import NotificationSettings
from empora_notification.sink import MailSink, MailStore
from empora_notification.sink.server import SinkHandler

TIME_BUDGET = 45.0  # seconds of measuring at most; set-up and clean-up come on top
PRODUCER_SCHEMA = "bench_order"


class TimingHandler(SinkHandler):
    """Notes when each message was accepted (the moment the server answers 250)."""

    def __init__(self, store: MailStore) -> None:
        super().__init__(store)
        self.accepted: dict[str, asyncio.Future[float]] = {}

    def expect(self, recipient: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.accepted[recipient] = future
        return future

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        now = time.perf_counter()
        for rcpt in envelope.rcpt_tos:
            future = self.accepted.pop(rcpt, None)
            if future is not None and not future.done():
                future.set_result(now)
        return reply


def order_paid(number: str, email: str) -> dict[str, Any]:
    usd = MoneyData(amount=2500, currency="USD")
    return OrderPaid(
        order_id=str(uuid.uuid4()),
        number=number,
        user_id=str(uuid.uuid4()),
        customer_email=email,
        reservation_id=str(uuid.uuid4()),
        lines=[
            OrderLineData(
                product_id=str(uuid.uuid4()),
                sku="MUG-001",
                name="Mug",
                quantity=2,
                unit_price=MoneyData(amount=1250, currency="USD"),
                line_total=usd,
            )
        ],
        subtotal=usd,
        shipping=MoneyData(amount=499, currency="USD"),
        total=MoneyData(amount=2999, currency="USD"),
    ).data()


def summary(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    mean = statistics.fmean(ordered)
    return (
        f"n={len(ordered):<4} p50 {pct(50):7.2f} ms   p90 {pct(90):7.2f} ms   "
        f"p99 {pct(99):7.2f} ms   max {ordered[-1]:7.2f} ms   mean {mean:7.2f} ms"
    )


async def email_path(
    database_url: str, amqp_url: str, redis_url: str, prefix: str, count: int, deadline: float
) -> list[float]:
    """``order.paid`` committed -> accepted by SMTP, one order at a time."""
    names = Names(prefix)
    engine = create_engine(database_url, pool_size=2)
    sessionmaker = create_sessionmaker(engine)
    producer_outbox = outbox_table(make_metadata(PRODUCER_SCHEMA))
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{PRODUCER_SCHEMA}"'))
        await conn.run_sync(producer_outbox.metadata.create_all)

    # The queue and its bindings exist before the first event, as in a deployed system.
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    keys = list(email_subscription(EmailRenderer(shop_name="x", public_base_url=""), "x").handlers)
    await declare_consumer_queue(channel, names, EMAILS_QUEUE, keys, delivery_limit=5)

    store = MailStore(max_messages=100)
    handler = TimingHandler(store)
    sink = await MailSink(smtp_port=0, http_port=None, store=store, handler=handler).start()
    relay = OutboxRelay(
        engine=engine,
        database_url=database_url,
        outbox=producer_outbox,
        inbox=None,
        amqp_url=amqp_url,
        producer="order",
        names=names,
        poll_interval=1.0,
    )
    relay_task = asyncio.create_task(relay.run())
    settings = NotificationSettings(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        AMQP_URL=amqp_url,
        AMQP_PREFIX=prefix,
        REDIS_PREFIX=prefix,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=sink.smtp_port,
        EMPORA_ENV="test",
        LOG_LEVEL="WARNING",
        CONSUMER_DELIVERY_LIMIT=5,
    )
    samples: list[float] = []
    try:
        async with serve(create_app(settings)):
            for i in range(count + 5):  # the first five warm up connections and caches
                if time.monotonic() > deadline:
                    break
                email = f"buyer-{i}@bench.test"
                accepted = handler.expect(email)
                async with sessionmaker() as session, session.begin():
                    await add_event(
                        session,
                        producer_outbox,
                        "order.paid",
                        order_paid(f"EMP-BENCH-{i:05d}", email),
                    )
                committed = time.perf_counter()
                done = await asyncio.wait_for(accepted, 10)
                if i >= 5:
                    samples.append((done - committed) * 1000)
    finally:
        await relay.stop()
        relay_task.cancel()
        with contextlib.suppress(BaseException):
            await relay_task
        await sink.stop()
        for queue in (names.queue(EMAILS_QUEUE), names.dlq(EMAILS_QUEUE), names.unrouted_queue):
            with contextlib.suppress(Exception):
                await channel.queue_delete(queue)
        for exchange in (names.events, names.unrouted_exchange):
            with contextlib.suppress(Exception):
                await channel.exchange_delete(exchange)
        await connection.close()
        await engine.dispose()
    return samples


async def bare_round_trip(amqp_url: str, prefix: str, count: int, deadline: float) -> list[float]:
    """aio-pika alone: publish (persistent, confirmed) -> consumer callback, one at a time."""
    connection = await aio_pika.connect(amqp_url)
    samples: list[float] = []
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(f"{prefix}bench.roundtrip", exclusive=True)
        arrived: asyncio.Queue[float] = asyncio.Queue()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            arrived.put_nowait(time.perf_counter())
            await message.ack()

        await queue.consume(on_message)
        for i in range(count + 20):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            await channel.default_exchange.publish(
                aio_pika.Message(b"x" * 600, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=queue.name,
            )
            done = await asyncio.wait_for(arrived.get(), 10)
            if i >= 20:
                samples.append((done - started) * 1000)
    finally:
        await connection.close()
    return samples


async def main(count: int) -> None:
    infra = discover_test_infra()
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    deadline = time.monotonic() + TIME_BUDGET
    name, url = await migrated_database(infra.admin_database_url, services=("notification",))
    try:
        bare = await bare_round_trip(infra.amqp_url, prefix, count * 2, deadline - TIME_BUDGET / 2)
        emails = await email_path(url, infra.amqp_url, infra.redis_url, prefix, count, deadline)
    finally:
        await drop_database(infra.admin_database_url, name)
        await remove_amqp_names(infra.amqp_url, prefix)
        await remove_redis_keys(infra.redis_url, prefix)
    print("Notification latency (sequential, one order in flight at a time)")
    print(f"  order.paid committed -> email accepted by SMTP   {summary(emails)}")
    print(f"  bare aio-pika publish -> consume round trip     {summary(bare)}")
    print(
        "  the email path adds: relay wake-up + confirm, inbox + notification row, sender"
        " wake-up, SMTP session"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200, help="orders to time")
    asyncio.run(main(parser.parse_args().count))
