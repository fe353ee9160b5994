"""Idempotent consumers: an event id is applied once per consumer, with its effect."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from pydantic import ValidationError
from sqlalchemy import Table, bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from empora_common import tracing
from empora_common.db import plain_connection
from empora_common.logging import reset_request_id, set_request_id
from empora_common.messaging.envelope import Envelope, MalformedEvent, parse_envelope
from empora_common.messaging.topology import Names, declare_consumer_queue
from empora_common.metrics import ServiceMetrics

log = structlog.get_logger("empora.consumer")

# The first argument is the consumer's transaction: an AsyncSession, or a plain asyncpg
# connection for a ``plain`` subscription, or None for a consumer without a database, whose
# handlers must be idempotent by themselves, e.g. with a marker in Redis.
Handler = Callable[[Any, Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """What one consumer queue reacts to: routing key -> handler, and accepted versions.

    ``plain``: the handlers get a plain asyncpg connection inside the inbox transaction instead
    of a session (hot consumers written in plain SQL: no ORM machinery per event).
    """

    queue: str
    handlers: Mapping[str, Handler]
    versions: frozenset[int] = frozenset({1})
    plain: bool = False


@dataclass
class EventConsumer:
    """Consumes one durable quorum queue with manual acks.

    A message that is not a valid envelope (or has a version we do not know) is rejected
    straight to the dead-letter queue. A handler failure is requeued; after the queue's
    ``x-delivery-limit`` the broker dead-letters it. The inbox row and the handler's effect
    share one transaction, so a redelivered event is acknowledged without a second effect.
    """

    subscription: Subscription
    sessionmaker: async_sessionmaker[AsyncSession] | None
    inbox: Table | None
    amqp_url: str
    names: Names
    delivery_limit: int = 5
    prefetch: int = 16
    metrics: ServiceMetrics | None = None
    retry_delay: float = 0.5
    _connection: AbstractRobustConnection | None = field(default=None, init=False)
    _started: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _claim: Any = field(default=None, init=False)

    async def start(self) -> None:
        """Connect (retrying until the broker answers) and start consuming."""
        delay = 0.2
        while True:
            try:
                self._connection = await aio_pika.connect_robust(self.amqp_url, timeout=5)
                break
            except Exception as exc:
                log.warning(
                    "consumer_connect_failed", queue=self.subscription.queue, error=str(exc)
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await declare_consumer_queue(
            channel,
            self.names,
            self.subscription.queue,
            list(self.subscription.handlers),
            delivery_limit=self.delivery_limit,
        )
        await queue.consume(self._on_message)
        self._started.set()

    @property
    def connected(self) -> bool:
        """True while the consumer holds an open broker connection."""
        return self._connection is not None and not self._connection.is_closed

    async def wait_started(self) -> None:
        """Wait until the queue is declared and consumed."""
        await self._started.wait()

    async def stop(self) -> None:
        """Close the connection; unacked messages go back to the queue."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = parse_envelope(message.body)
            if envelope.version not in self.subscription.versions:
                raise MalformedEvent(f"unknown version {envelope.version}")
            handler = self.subscription.handlers.get(envelope.type)
            if handler is None:
                raise MalformedEvent(f"no handler for {envelope.type}")
        except MalformedEvent as exc:
            log.error("event_malformed", queue=self.subscription.queue, error=str(exc)[:500])
            if self.metrics is not None:
                self.metrics.event("in", message.type or "unknown", "dead_lettered")
            await message.reject(requeue=False)
            return
        token = set_request_id(envelope.correlation_id)
        try:
            if tracing.enabled():
                with tracing.consumer_span(
                    self.subscription.queue,
                    message.headers,
                    {
                        "messaging.system": "rabbitmq",
                        "messaging.operation.type": "process",
                        "messaging.destination.name": self.subscription.queue,
                        "messaging.message.id": str(envelope.id),
                        "messaging.rabbitmq.destination.routing_key": envelope.type,
                    },
                ):
                    applied = await self.apply(envelope, handler)
            else:
                applied = await self.apply(envelope, handler)
        except (MalformedEvent, ValidationError) as exc:
            # The data itself is unusable: retrying cannot help, dead-letter it at once.
            log.error(
                "event_data_malformed",
                event_type=envelope.type,
                event_id=str(envelope.id),
                error=str(exc)[:500],
            )
            if self.metrics is not None:
                self.metrics.event("in", envelope.type, "dead_lettered")
            await message.reject(requeue=False)
            return
        except Exception as exc:
            log.exception(
                "event_handler_failed",
                event_type=envelope.type,
                event_id=str(envelope.id),
                error=str(exc),
            )
            if self.metrics is not None:
                self.metrics.event("in", envelope.type, "failed")
            # Back off a little so a failing handler does not spin through its deliveries.
            await asyncio.sleep(self.retry_delay)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
            return
        finally:
            reset_request_id(token)
        if self.metrics is not None:
            self.metrics.event("in", envelope.type, "applied" if applied else "duplicate")
        await message.ack()

    async def apply(self, envelope: Envelope, handler: Handler) -> bool:
        """Apply an event once: False when this consumer had already applied it."""
        if self.sessionmaker is None or self.inbox is None:
            await handler(None, envelope)
            return True
        if self.subscription.plain:
            return await self._apply_plain(envelope, handler)
        if self._claim is None:
            # Built once: constructing the statement costs more than running it.
            self._claim = (
                insert(self.inbox)
                .values(
                    consumer=bindparam("consumer"),
                    event_id=bindparam("event_id"),
                    event_type=bindparam("event_type"),
                )
                .on_conflict_do_nothing()
                .returning(self.inbox.c.event_id)
            )
        async with self.sessionmaker() as session, session.begin():
            inserted = await session.execute(
                self._claim,
                {
                    "consumer": self.subscription.queue,
                    "event_id": envelope.id,
                    "event_type": envelope.type,
                },
            )
            if inserted.first() is None:
                return False
            await handler(session, envelope)
        return True

    async def _apply_plain(self, envelope: Envelope, handler: Handler) -> bool:
        assert self.sessionmaker is not None and self.inbox is not None
        claim = (
            f'INSERT INTO "{self.inbox.schema}".inbox (consumer, event_id, event_type)'
            " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING event_id"
        )
        async with plain_connection(self.sessionmaker.kw["bind"]) as conn, conn.transaction():
            claimed = await conn.fetchval(
                claim, self.subscription.queue, envelope.id, envelope.type
            )
            if claimed is None:
                return False
            await handler(conn, envelope)
        return True
