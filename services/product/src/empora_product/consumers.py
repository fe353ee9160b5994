"""What the product service reacts to: queue ``product.orders``.

The order service calls commit / release / returns synchronously; these handlers repeat them
as a backup. Each runs in the inbox transaction (an event applies once) on a plain asyncpg
connection, like the stock slice; an expected refusal (unknown reservation, already committed,
out of stock) is logged and acknowledged instead of being retried, inside a savepoint so
nothing half-done is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

from empora_common.errors import EmporaError
from empora_common.messaging.consumer import Subscription
from empora_common.messaging.envelope import Envelope
from empora_product.stock import service as stock_service
from empora_product.stock.schemas import Line

log = structlog.get_logger("empora.product.consumers")

QUEUE = "product.orders"


def _uuid(data: dict[str, Any], key: str) -> uuid.UUID | None:
    value = data.get(key)
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def _guarded(
    conn: asyncpg.Connection,
    envelope: Envelope,
    action: Callable[[asyncpg.Connection], Awaitable[Any]],
) -> None:
    try:
        async with conn.transaction():  # a savepoint in the inbox transaction
            await action(conn)
    except EmporaError as exc:
        log.warning(
            "order_event_not_applied",
            event_type=envelope.type,
            event_id=str(envelope.id),
            reason=exc.slug,
            detail=exc.detail,
        )


async def on_order_paid(conn: asyncpg.Connection, envelope: Envelope) -> None:
    """Backup commit of the paid order's reservation."""
    reservation_id = _uuid(envelope.data, "reservation_id")
    if reservation_id is None:
        log.warning("order_paid_without_reservation", event_id=str(envelope.id))
        return
    await _guarded(conn, envelope, lambda conn: stock_service.commit(conn, reservation_id))


async def on_order_payment_failed(conn: asyncpg.Connection, envelope: Envelope) -> None:
    """Backup release of a failed order's reservation."""
    reservation_id = _uuid(envelope.data, "reservation_id")
    if reservation_id is None:
        return
    await _guarded(conn, envelope, lambda conn: stock_service.release(conn, reservation_id))


async def on_order_cancelled(conn: asyncpg.Connection, envelope: Envelope) -> None:
    """Return a cancelled order's stock (idempotent per order)."""
    order_id = _uuid(envelope.data, "order_id")
    if order_id is None:
        log.warning("order_cancelled_without_order_id", event_id=str(envelope.id))
        return
    lines = [
        Line(product_id=line["product_id"], quantity=line["quantity"])
        for line in envelope.data.get("lines") or []
        if line.get("product_id") and int(line.get("quantity") or 0) > 0
    ]
    if not lines:
        return
    await _guarded(conn, envelope, lambda conn: stock_service.return_stock(conn, order_id, lines))


subscription = Subscription(
    queue=QUEUE,
    handlers={
        "order.paid": on_order_paid,
        "order.payment_failed": on_order_payment_failed,
        "order.cancelled": on_order_cancelled,
    },
    plain=True,
)
