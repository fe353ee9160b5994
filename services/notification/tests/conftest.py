"""Fixtures of the notification service's tests: a real SMTP server (aiosmtpd), the real
broker with this run's prefix, the service's own migrated schema, the app on a real port."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiohttp
import pytest
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from empora_common.messaging.envelope import Envelope
from empora_common.messaging.topology import Names, declare_consumer_queue, declare_events_exchange
from empora_common.testing.client import client_session
from empora_common.testing.infra import (
    AppServer,
    TestInfra,
    drop_database,
    migrated_database,
    serve,
    truncate_schema,
)
from empora_common.testing.tokens import TestSigner
from empora_notification.app import create_app
from empora_notification.consumers import EMAILS_QUEUE, email_subscription
from empora_notification.emails.rendering import EmailRenderer
from empora_notification.settings import NotificationSettings
from empora_notification.sink import MailSink

# The queue's x-delivery-limit is fixed when it is first declared: every app of the run
# must use the same value.
DELIVERY_LIMIT = 3
PUBLIC_BASE_URL = "https://shop.example.test"


@pytest.fixture(scope="session")
async def database_url(infra: TestInfra) -> AsyncIterator[str]:
    """This service's tests need only its own schema, built by its real migrations."""
    name, url = await migrated_database(infra.admin_database_url, services=("notification",))
    yield url
    await drop_database(infra.admin_database_url, name)


@pytest.fixture
async def db(database_url: str) -> str:
    """The database, with the notification schema emptied for this test."""
    await truncate_schema(database_url, "notification")
    return database_url


@pytest.fixture
async def sink() -> AsyncIterator[MailSink]:
    """A real SMTP server (aiosmtpd) on a free port that keeps what it receives."""
    async with MailSink(smtp_port=0, http_port=None) as server:
        yield server


SettingsFactory = Callable[..., NotificationSettings]


@pytest.fixture
def make_settings(base_env: dict[str, Any], sink: MailSink) -> SettingsFactory:
    """Settings for an app under test: this run's infrastructure, the sink, quick retries."""

    def factory(**overrides: Any) -> NotificationSettings:
        values: dict[str, Any] = {
            **base_env,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": sink.smtp_port,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "CONSUMER_DELIVERY_LIMIT": DELIVERY_LIMIT,
            "NOTIFICATION_POLL_INTERVAL": 0.2,
            "NOTIFICATION_RETRY_BASE_SECONDS": 0.1,
            "NOTIFICATION_RETRY_MAX_SECONDS": 0.5,
            "NOTIFICATION_MAX_ATTEMPTS": 50,
            "DB_POOL_SIZE": 4,
        }
        values.update(overrides)
        return NotificationSettings(**values)

    return factory


class Broker:
    """This run's exchange and the service's queues, for publishing and inspecting."""

    def __init__(self, channel: AbstractChannel, names: Names) -> None:
        self.channel = channel
        self.names = names

    async def publish_raw(self, body: bytes, routing_key: str) -> None:
        """Publish any bytes (even garbage) with a routing key."""
        exchange = await self.channel.get_exchange(self.names.events)
        await exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=routing_key,
        )

    async def publish(self, envelope: Envelope) -> None:
        """Publish an envelope the way the outbox relay does."""
        await self.publish_raw(envelope.to_bytes(), envelope.type)

    async def dead_letters(self, expected: int, timeout: float = 20.0) -> list[bytes]:
        """Wait until the DLQ holds ``expected`` messages; take them off it."""
        queue = await self.channel.get_queue(self.names.dlq(EMAILS_QUEUE))
        bodies: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(bodies) < expected and time.monotonic() < deadline:
            message = await queue.get(fail=False, no_ack=True)
            if message is None:
                await asyncio.sleep(0.1)
            else:
                bodies.append(message.body)
        return bodies

    async def purge_dead_letters(self) -> None:
        """Empty the DLQ."""
        queue = await self.channel.get_queue(self.names.dlq(EMAILS_QUEUE))
        await queue.purge()


@pytest.fixture(scope="session")
async def broker(infra: TestInfra, prefix: str) -> AsyncIterator[Broker]:
    """The events exchange and ``notification.emails`` (+ its DLQ) declared up front, so
    events published before a consumer starts wait for it; the queues are deleted at the end."""
    names = Names(prefix)
    connection: AbstractRobustConnection = await aio_pika.connect_robust(infra.amqp_url)
    channel = await connection.channel()
    await declare_events_exchange(channel, names)
    routing_keys = list(
        email_subscription(EmailRenderer(shop_name="x", public_base_url=""), "x").handlers
    )
    await declare_consumer_queue(
        channel, names, EMAILS_QUEUE, routing_keys, delivery_limit=DELIVERY_LIMIT
    )
    yield Broker(channel, names)
    for queue in (names.queue(EMAILS_QUEUE), names.dlq(EMAILS_QUEUE)):
        await channel.queue_delete(queue)
    await connection.close()


def envelope(event_type: str, data: dict[str, Any], event_id: uuid.UUID | None = None) -> Envelope:
    """An envelope as a producer's outbox relay would send it."""
    return Envelope(
        id=event_id or uuid.uuid4(),
        type=event_type,
        version=1,
        occurred_at=datetime.now(UTC),
        producer="order" if event_type.startswith("order.") else "auth",
        aggregate_id=str(data.get("order_id") or data.get("user_id") or ""),
        sequence=1,
        correlation_id=uuid.uuid4().hex,
        data=data,
    )


class Events:
    """Payloads shaped like ``empora_contracts.events``, each with a unique recipient."""

    @staticmethod
    def email() -> str:
        return f"user-{uuid.uuid4().hex[:10]}@example.com"

    @staticmethod
    def money(amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": "USD"}

    def user(self, event_type: str, **overrides: Any) -> Envelope:
        token = uuid.uuid4().hex + "-_Zz"
        data: dict[str, Any] = {"user_id": str(uuid.uuid4()), "email": self.email()}
        if event_type == "user.password_reset_requested":
            data["reset_url"] = f"{PUBLIC_BASE_URL}/reset-password?token={token}"
        else:
            data["verification_url"] = f"{PUBLIC_BASE_URL}/verify-email?token={token}"
        data.update(overrides)
        return envelope(event_type, data)

    def order(self, event_type: str, **overrides: Any) -> Envelope:
        number = f"EMP-20261125-{uuid.uuid4().hex[:6].upper()}"
        lines = [
            {
                "product_id": str(uuid.uuid4()),
                "sku": "MUG-001",
                "name": "Café mug",
                "quantity": 2,
                "unit_price": self.money(1250),
                "line_total": self.money(2500),
            },
            {
                "product_id": str(uuid.uuid4()),
                "sku": "TEE-042",
                "name": "T-shirt <large>",
                "quantity": 1,
                "unit_price": self.money(1999),
                "line_total": self.money(1999),
            },
        ]
        data: dict[str, Any] = {
            "order_id": str(uuid.uuid4()),
            "number": number,
            "user_id": str(uuid.uuid4()),
            "customer_email": self.email(),
        }
        if event_type == "order.paid":
            data.update(
                reservation_id=str(uuid.uuid4()),
                lines=lines,
                subtotal=self.money(4499),
                shipping=self.money(499),
                total=self.money(4998),
            )
        elif event_type == "order.shipped":
            data.update(tracking_number="1Z999AA10123456784")
            del data["user_id"]
        elif event_type == "order.cancelled":
            data.update(
                lines=lines,
                refund={"amount": self.money(4998), "reference": "re_123", "status": "refunded"},
            )
        data.update(overrides)
        return envelope(event_type, data)


@pytest.fixture
def events() -> Events:
    """Event factories."""
    return Events()


@pytest.fixture
async def service(
    db: str, broker: Broker, make_settings: SettingsFactory
) -> AsyncIterator[AppServer]:
    """The notification service on a real port, consuming this run's queue."""
    await broker.purge_dead_letters()
    async with serve(create_app(make_settings())) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client."""
    async with client_session() as session:
        yield session


Eventually = Callable[..., Awaitable[Any]]


@pytest.fixture
def eventually() -> Eventually:
    """``await eventually(check, timeout=10)``: retry ``check`` (sync or async) until it returns
    something truthy; the last result is returned (falsy when the time ran out)."""

    async def run(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result or time.monotonic() > deadline:
                return result
            await asyncio.sleep(interval)

    return run


@pytest.fixture
def admin_headers(signer: TestSigner) -> dict[str, str]:
    """An administrator's bearer token."""
    return signer.headers(roles=["admin"], email="admin@example.com")
