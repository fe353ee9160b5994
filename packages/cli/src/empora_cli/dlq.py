"""Dead-letter queues: ``<queue>.dlq`` of every consumer queue; list them, replay them."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from aiormq.exceptions import ChannelNotFoundEntity

from empora_common.messaging.topology import Names

# The consumer queues of docs/internal-api.md (keep the two in step).
CONSUMER_QUEUES: tuple[str, ...] = (
    "notification.emails",
    "product.orders",
    "cart.orders",
    "cart.products",
)
DLQ_SUFFIX = ".dlq"
# Headers the broker adds when dead-lettering; a replayed message starts afresh.
DEATH_HEADERS = frozenset(
    {
        "x-death",
        "x-delivery-count",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
    }
)


class DlqError(RuntimeError):
    """A dead-letter operation cannot be done (unknown queue, missing queue...)."""


@dataclass(frozen=True)
class Peeked:
    """A dead letter as ``dlq list`` shows it."""

    event_type: str
    event_id: str
    reason: str
    preview: str


@dataclass
class QueueReport:
    """One consumer queue and its dead-letter queue."""

    queue: str
    ready: int | None
    dead: int | None
    peeked: list[Peeked] = field(default_factory=list)


def queue_name(raw: str) -> str:
    """``notification.emails`` from either it or ``notification.emails.dlq``."""
    name = raw.removesuffix(DLQ_SUFFIX)
    if name not in CONSUMER_QUEUES:
        known = ", ".join(CONSUMER_QUEUES)
        raise DlqError(f"unknown queue {raw!r}; the consumer queues are: {known}")
    return name


async def _count(connection: AbstractConnection, name: str) -> int | None:
    """Messages ready in a queue; None when the queue does not exist (yet)."""
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
    except ChannelNotFoundEntity:
        return None
    count = queue.declaration_result.message_count
    with contextlib.suppress(Exception):
        await channel.close()
    return int(count or 0)


def _death_reason(headers: dict[str, Any]) -> str:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        first = deaths[0]
        reason = first.get("reason")
        reason = reason.decode() if isinstance(reason, bytes) else str(reason)
        return f"{reason} x{first.get('count', 1)}"
    reason = headers.get("x-first-death-reason") or headers.get("x-last-death-reason")
    if isinstance(reason, bytes):
        reason = reason.decode()
    return str(reason) if reason else "?"


def _peeked(message: AbstractIncomingMessage) -> Peeked:
    event_type, event_id = message.type or "?", message.message_id or "?"
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = json.loads(message.body)
        if isinstance(body, dict):
            event_type = str(body.get("type", event_type))
            event_id = str(body.get("id", event_id))
    preview = message.body[:120].decode("utf-8", errors="replace")
    return Peeked(event_type, event_id, _death_reason(dict(message.headers or {})), preview)


async def _peek(connection: AbstractConnection, name: str, limit: int) -> list[Peeked]:
    """Look at up to ``limit`` dead letters without taking them (closing returns them)."""
    if limit <= 0:
        return []
    channel: AbstractChannel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
        found: list[Peeked] = []
        while len(found) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            found.append(_peeked(message))
        return found
    except ChannelNotFoundEntity:
        return []
    finally:
        # Closing without acks puts every peeked message back.
        with contextlib.suppress(Exception):
            await channel.close()


async def list_dead_letters(amqp_url: str, prefix: str = "", peek: int = 3) -> list[QueueReport]:
    """Counts of every consumer queue and its DLQ, with a peek at the dead letters."""
    names = Names(prefix)
    connection = await aio_pika.connect(amqp_url, timeout=10)
    try:
        reports = []
        for queue in CONSUMER_QUEUES:
            ready = await _count(connection, names.queue(queue))
            dead = await _count(connection, names.dlq(queue))
            peeked = await _peek(connection, names.dlq(queue), peek) if dead else []
            reports.append(QueueReport(queue, ready, dead, peeked))
        return reports
    finally:
        await connection.close()


async def replay(amqp_url: str, queue: str, prefix: str = "", limit: int | None = None) -> int:
    """Move dead letters back to their queue; returns how many moved.

    At most the number present when it starts, so letters that die again during the replay
    are not cycled forever.
    """
    name = queue_name(queue)
    names = Names(prefix)
    connection = await aio_pika.connect(amqp_url, timeout=10)
    try:
        target = await _count(connection, names.queue(name))
        if target is None:
            raise DlqError(f"queue {names.queue(name)} does not exist: nothing consumes it yet")
        present = await _count(connection, names.dlq(name))
        if not present:
            return 0
        budget = present if limit is None else min(present, limit)
        channel = await connection.channel(publisher_confirms=True)
        dlq = await channel.declare_queue(names.dlq(name), passive=True)
        moved = 0
        while moved < budget:
            message = await dlq.get(no_ack=False, fail=False)
            if message is None:
                break
            headers = {k: v for k, v in (message.headers or {}).items() if k not in DEATH_HEADERS}
            previous = headers.get("x-replay-count", 0)
            headers["x-replay-count"] = (previous if isinstance(previous, int) else 0) + 1
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    headers=headers,
                    content_type=message.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    type=message.type,
                    correlation_id=message.correlation_id,
                    timestamp=message.timestamp,
                    app_id=message.app_id,
                ),
                routing_key=names.queue(name),
                mandatory=True,
                timeout=10,
            )
            # Only once the broker confirmed the copy: a crash in between duplicates, never loses.
            await message.ack()
            moved += 1
        await channel.close()
        return moved
    finally:
        await connection.close()
