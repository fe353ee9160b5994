"""SQL of orders: loading whole orders in one statement, listing, guarded transitions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    Text,
    Uuid,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CTE

from empora_common import tracing
from empora_common.logging import current_request_id
from empora_common.messaging.outbox import notify_channel
from empora_order.database import SCHEMA, outbox
from empora_order.orders.models import order, order_line, status_history
from empora_order.orders.records import HistoryEntry, Line, OrderRecord, PaymentRecord
from empora_order.payments.models import payment

_EMPTY: Any = literal_column("'[]'::json")


def _lines_json() -> Any:
    return func.coalesce(
        select(
            func.json_agg(
                aggregate_order_by(
                    func.json_build_object(
                        "product_id",
                        order_line.c.product_id,
                        "sku",
                        order_line.c.sku,
                        "name",
                        order_line.c.name,
                        "unit_price",
                        order_line.c.unit_price,
                        "quantity",
                        order_line.c.quantity,
                    ),
                    order_line.c.position,
                )
            )
        )
        .where(order_line.c.order_id == order.c.id)
        .scalar_subquery(),
        _EMPTY,
    )


def _history_json() -> Any:
    return func.coalesce(
        select(
            func.json_agg(
                aggregate_order_by(
                    func.json_build_object(
                        "status",
                        status_history.c.status,
                        "note",
                        status_history.c.note,
                        "actor",
                        status_history.c.actor,
                        "at",
                        status_history.c.at,
                    ),
                    status_history.c.id,
                )
            )
        )
        .where(status_history.c.order_id == order.c.id)
        .scalar_subquery(),
        _EMPTY,
    )


def _payment_json() -> Any:
    p = payment
    return (
        select(
            func.json_build_object(
                "id",
                p.c.id,
                "attempt",
                p.c.attempt,
                "idempotency_key",
                p.c.idempotency_key,
                "provider",
                p.c.provider,
                "token",
                p.c.token,
                "amount",
                p.c.amount,
                "currency",
                p.c.currency,
                "status",
                p.c.status,
                "reference",
                p.c.reference,
                "decline_code",
                p.c.decline_code,
                "created_at",
                p.c.created_at,
                "updated_at",
                p.c.updated_at,
                "captured_at",
                p.c.captured_at,
            )
        )
        .where(p.c.order_id == order.c.id)
        .order_by(p.c.attempt.desc())
        .limit(1)
        .scalar_subquery()
    )


def whole_orders() -> Select[Any]:
    """Orders with their lines, history and latest payment, one row per order."""
    return select(
        order,
        _lines_json().label("lines_json"),
        _history_json().label("history_json"),
        _payment_json().label("payment_json"),
    )


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def record_from_row(row: Any) -> OrderRecord:
    """An OrderRecord from a row of ``whole_orders()``."""
    pay = row.payment_json
    return OrderRecord(
        id=row.id,
        number=row.number,
        user_id=row.user_id,
        customer_email=row.customer_email,
        status=row.status,
        cart_id=row.cart_id,
        cart_version=row.cart_version,
        reservation_id=row.reservation_id,
        requested_items=list(row.requested_items),
        currency=row.currency,
        subtotal=row.subtotal,
        shipping=row.shipping,
        total=row.total,
        shipping_address=dict(row.shipping_address),
        tracking_number=row.tracking_number,
        priced_at=row.priced_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        lines=[
            Line(
                product_id=uuid.UUID(item["product_id"]),
                sku=item["sku"],
                name=item["name"],
                unit_price=int(item["unit_price"]),
                quantity=int(item["quantity"]),
            )
            for item in row.lines_json
        ],
        history=[
            HistoryEntry(
                status=h["status"],
                note=h["note"],
                actor=h["actor"],
                at=datetime.fromisoformat(h["at"]),
            )
            for h in row.history_json
        ],
        payment=PaymentRecord(
            id=uuid.UUID(pay["id"]),
            attempt=int(pay["attempt"]),
            idempotency_key=pay["idempotency_key"],
            provider=pay["provider"],
            token=pay["token"],
            amount=int(pay["amount"]),
            currency=pay["currency"],
            status=pay["status"],
            reference=pay["reference"],
            decline_code=pay["decline_code"],
            created_at=datetime.fromisoformat(pay["created_at"]),
            updated_at=datetime.fromisoformat(pay["updated_at"]),
            captured_at=_ts(pay["captured_at"]),
        )
        if pay
        else None,
    )


async def load(session: AsyncSession, order_id: uuid.UUID) -> OrderRecord | None:
    """One whole order, or None."""
    row = (await session.execute(whole_orders().where(order.c.id == order_id))).first()
    return record_from_row(row) if row is not None else None


@dataclass(frozen=True, slots=True)
class OrderFilter:
    user_id: uuid.UUID | None = None
    status: str | None = None


async def page(
    session: AsyncSession, filters: OrderFilter, *, limit: int, offset: int
) -> tuple[list[OrderRecord], int]:
    """A page of orders, newest first (ties by id), and the total count."""
    conditions = []
    if filters.user_id is not None:
        conditions.append(order.c.user_id == filters.user_id)
    if filters.status is not None:
        conditions.append(order.c.status == filters.status)
    total = (
        await session.execute(select(func.count()).select_from(order).where(*conditions))
    ).scalar_one()
    if total == 0 or offset >= total:
        return [], int(total)
    rows = (
        await session.execute(
            whole_orders()
            .where(*conditions)
            .order_by(order.c.created_at.desc(), order.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [record_from_row(r) for r in rows], int(total)


# --- statements built from CTEs: one round trip per committed step -------------------------


# The outbox columns an event row fills (the rest have defaults), in the order of the values.
OUTBOX_COLUMNS = [
    "id",
    "event_type",
    "version",
    "aggregate_id",
    "correlation_id",
    "data",
    "traceparent",
]


def outbox_insert_from(source: CTE, name: str, event_type: str, data: dict[str, Any]) -> CTE:
    """An outbox row written only when ``source`` returned a row (same transaction)."""
    aggregate = data.get("order_id")
    return (
        insert(outbox)
        .from_select(
            OUTBOX_COLUMNS,
            select(
                literal(uuid.uuid4(), Uuid),
                literal(event_type, Text),
                literal(1, Integer),
                literal(str(aggregate) if aggregate else None, Text),
                literal(current_request_id(), Text),
                literal(data, JSONB),
                literal(tracing.current_traceparent(), Text),
            ).select_from(source),
        )
        .returning(outbox.c.seq)
        .cte(name)
    )


def history_insert_from(
    source: CTE, name: str, *, status: str, note: str | None, actor: str, at: datetime
) -> CTE:
    """A status-history row for each order id ``source`` returned."""
    return (
        insert(status_history)
        .from_select(
            ["order_id", "status", "note", "actor", "at"],
            select(
                source.c.id,
                literal(status, Text),
                literal(note, Text),
                literal(actor, Text),
                literal(at, DateTime(timezone=True)),
            ),
        )
        .returning(status_history.c.id)
        .cte(name)
    )


def notify() -> Any:
    """Wake the outbox relay (PostgreSQL delivers it on commit only)."""
    return func.pg_notify(notify_channel(SCHEMA), "")


async def transition(
    session: AsyncSession,
    order_id: uuid.UUID,
    *,
    from_status: str,
    to_status: str,
    note: str | None,
    actor: str,
    now: datetime,
    values: dict[str, Any] | None = None,
    event: tuple[str, dict[str, Any]] | None = None,
) -> bool:
    """Move an order between two statuses with its history row (and event); False if it
    was no longer in ``from_status``."""
    changed = (
        update(order)
        .where(order.c.id == order_id, order.c.status == from_status)
        .values(status=to_status, updated_at=now, **(values or {}))
        .returning(order.c.id)
        .cte("changed")
    )
    ctes: list[CTE] = [
        history_insert_from(changed, "hist", status=to_status, note=note, actor=actor, at=now)
    ]
    columns: list[Any] = [changed.c.id]
    if event is not None:
        ctes.append(outbox_insert_from(changed, "event", event[0], event[1]))
        columns.append(notify())
    stmt = select(*columns).select_from(changed).add_cte(*ctes)
    return (await session.execute(stmt)).first() is not None
