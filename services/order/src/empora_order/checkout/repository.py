"""SQL of checkout: each committed step of the orchestration is one statement (CTEs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Text,
    Uuid,
    column,
    delete,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CTE

from empora_order.idempotency.models import idempotency_key
from empora_order.orders.models import order, order_line
from empora_order.orders.records import OrderRecord, OrderStatus, PaymentStatus
from empora_order.orders.repository import (
    history_insert_from,
    notify,
    outbox_insert_from,
    payment_update_if,
)
from empora_order.payments.models import payment

TZ = DateTime(timezone=True)


def relaxed_durability() -> Any:
    """Commit this transaction without waiting for the WAL flush (``SET LOCAL
    synchronous_commit = off`` as an expression, so it costs no statement).

    Only for steps a server crash may lose without harm: the claim and the pricing of a
    pending order. Money never depends on them alone: the provider's capture and the end of the
    order commit synchronously, and a synchronous commit flushes every earlier WAL record, so
    a capture is never durable while the order it belongs to is not. A lost claim leaves a
    reservation nobody holds (it expires) and a client without an answer (it retries).
    """
    return func.set_config("synchronous_commit", "off", True)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response kept for Idempotency-Key replays."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClaimResult:
    claimed: bool
    declines: int


@dataclass(frozen=True, slots=True)
class KeyState:
    """An existing Idempotency-Key and the state of its order."""

    fingerprint: str
    order_id: uuid.UUID | None
    response: StoredResponse | None
    order_status: str | None
    lease_expires_at: datetime | None


def _declines(user_id: uuid.UUID, since: datetime) -> Any:
    return (
        select(func.count())
        .select_from(payment)
        .where(
            payment.c.user_id == user_id,
            payment.c.status == PaymentStatus.DECLINED,
            payment.c.created_at > since,
        )
        .scalar_subquery()
    )


async def claim(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    key: str,
    fingerprint: str,
    now: datetime,
    new_order: OrderRecord | None,
    lease_until: datetime | None,
    response: StoredResponse | None,
    decline_since: datetime,
    decline_limit: int,
) -> ClaimResult:
    """Claim an Idempotency-Key and, in the same statement, write the pending order, its
    payment attempt and first history row. Nothing is written when the key exists or the
    card-testing guard trips; a second order of the same cart version violates the cart guard.
    """
    declines = _declines(user_id, decline_since)
    key_row = select(
        literal(user_id, Uuid),
        literal(key, Text),
        literal(fingerprint, Text),
        literal(new_order.id if new_order else None, Uuid),
        literal(response.status if response else None, Integer),
        literal(response.body if response else None, JSONB),
        literal(now, TZ),
        literal(now if response else None, TZ),
    )
    if new_order is not None:
        key_row = key_row.where(declines <= decline_limit)
    k = (
        insert(idempotency_key)
        .from_select(
            [
                "user_id",
                "key",
                "fingerprint",
                "order_id",
                "response_status",
                "response_body",
                "created_at",
                "completed_at",
            ],
            key_row,
        )
        .on_conflict_do_nothing()
        .returning(idempotency_key.c.user_id)
        .cte("k")
    )
    ctes: list[CTE] = []
    if new_order is not None:
        o = _insert_order(new_order, k, lease_until)
        pay = new_order.payment
        assert pay is not None
        p = (
            sa_insert(payment)
            .from_select(
                [
                    "id",
                    "order_id",
                    "user_id",
                    "attempt",
                    "idempotency_key",
                    "provider",
                    "token",
                    "amount",
                    "currency",
                    "status",
                    "created_at",
                    "updated_at",
                ],
                select(
                    literal(pay.id, Uuid),
                    o.c.id,
                    literal(new_order.user_id, Uuid),
                    literal(pay.attempt, Integer),
                    literal(pay.idempotency_key, Text),
                    literal(pay.provider, Text),
                    literal(pay.token, Text),
                    literal(pay.amount, BigInteger),
                    literal(pay.currency, Text),
                    literal(pay.status, Text),
                    literal(now, TZ),
                    literal(now, TZ),
                ),
            )
            .returning(payment.c.id)
            .cte("p")
        )
        first = new_order.history[0]
        h = history_insert_from(
            o, "h", status=first.status, note=first.note, actor=first.actor, at=first.at
        )
        ctes = [o, p, h]
    stmt = select(
        select(func.count()).select_from(k).scalar_subquery().label("claimed"),
        declines.label("declines"),
        relaxed_durability(),
    )
    if ctes:
        stmt = stmt.add_cte(*ctes)
    row = (await session.execute(stmt)).one()
    return ClaimResult(claimed=row.claimed > 0, declines=int(row.declines))


def _insert_order(rec: OrderRecord, source: CTE, lease_until: datetime | None) -> CTE:
    return (
        sa_insert(order)
        .from_select(
            [
                "id",
                "number",
                "user_id",
                "customer_email",
                "status",
                "cart_id",
                "cart_version",
                "reservation_id",
                "requested_items",
                "currency",
                "shipping_address",
                "lease_expires_at",
                "created_at",
                "updated_at",
            ],
            select(
                literal(rec.id, Uuid),
                literal(rec.number, Text),
                literal(rec.user_id, Uuid),
                literal(rec.customer_email, Text),
                literal(rec.status, Text),
                literal(rec.cart_id, Uuid),
                literal(rec.cart_version, BigInteger),
                literal(rec.reservation_id, Uuid),
                literal(rec.requested_items, JSONB),
                literal(rec.currency, Text),
                literal(rec.shipping_address, JSONB),
                literal(lease_until, TZ),
                literal(rec.created_at, TZ),
                literal(rec.updated_at, TZ),
            ).select_from(source),
        )
        .returning(order.c.id)
        .cte("o")
    )


async def key_state(session: AsyncSession, user_id: uuid.UUID, key: str) -> KeyState | None:
    """An existing key with its stored response and its order's status and lease."""
    row = (
        await session.execute(
            select(
                idempotency_key.c.fingerprint,
                idempotency_key.c.order_id,
                idempotency_key.c.response_status,
                idempotency_key.c.response_body,
                order.c.status,
                order.c.lease_expires_at,
            )
            .select_from(idempotency_key.outerjoin(order, order.c.id == idempotency_key.c.order_id))
            .where(idempotency_key.c.user_id == user_id, idempotency_key.c.key == key)
        )
    ).first()
    if row is None:
        return None
    stored = (
        StoredResponse(row.response_status, row.response_body)
        if row.response_status is not None
        else None
    )
    return KeyState(
        fingerprint=row.fingerprint,
        order_id=row.order_id,
        response=stored,
        order_status=row.status,
        lease_expires_at=row.lease_expires_at,
    )


async def store_response(
    session: AsyncSession, order_id: uuid.UUID, response: StoredResponse, now: datetime
) -> None:
    """Keep the final response of the key that drives an order (if not kept yet)."""
    await session.execute(
        update(idempotency_key)
        .where(
            idempotency_key.c.order_id == order_id,
            idempotency_key.c.response_status.is_(None),
        )
        .values(response_status=response.status, response_body=response.body, completed_at=now)
    )


async def take_lease(
    session: AsyncSession, order_id: uuid.UUID, now: datetime, until: datetime
) -> bool:
    """Take over a pending order whose lease expired; False if someone holds it or it is
    no longer pending."""
    row = (
        await session.execute(
            update(order)
            .where(
                order.c.id == order_id,
                order.c.status == OrderStatus.PENDING,
                order.c.lease_expires_at < now,
            )
            .values(lease_expires_at=until)
            .returning(order.c.id)
        )
    ).first()
    return row is not None


async def release_lease(session: AsyncSession, order_id: uuid.UUID, now: datetime) -> None:
    """Let a retry or the reconciler take a pending order over at once."""
    await session.execute(
        update(order)
        .where(order.c.id == order_id, order.c.status == OrderStatus.PENDING)
        .values(lease_expires_at=now)
    )


async def claim_expired(
    session: AsyncSession, now: datetime, until: datetime, limit: int
) -> list[uuid.UUID]:
    """Lease pending orders whose lease expired (several reconcilers never share one)."""
    expired = (
        select(order.c.id)
        .where(order.c.status == OrderStatus.PENDING, order.c.lease_expires_at < now)
        .order_by(order.c.lease_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = await session.execute(
        update(order)
        .where(order.c.id.in_(expired))
        .values(lease_expires_at=until)
        .returning(order.c.id)
    )
    return [r.id for r in rows]


async def record_pricing(session: AsyncSession, rec: OrderRecord, now: datetime) -> bool:
    """Write the lines as reserved, the totals, the attempt's amount and ``order.created``;
    False when the order was priced already (a resumed checkout)."""
    from empora_order.orders import events

    o = (
        update(order)
        .where(
            order.c.id == rec.id,
            order.c.status == OrderStatus.PENDING,
            order.c.priced_at.is_(None),
        )
        .values(
            subtotal=rec.subtotal,
            shipping=rec.shipping,
            total=rec.total,
            priced_at=now,
            updated_at=now,
        )
        .returning(order.c.id)
        .cte("o")
    )
    # The lines travel as one JSONB parameter, so the statement is the same for any number of
    # lines and SQLAlchemy compiles it once.
    rows = (
        func.jsonb_to_recordset(
            literal(
                [
                    {
                        "position": i,
                        "product_id": str(ln.product_id),
                        "sku": ln.sku,
                        "name": ln.name,
                        "unit_price": ln.unit_price,
                        "quantity": ln.quantity,
                        "line_total": ln.line_total,
                    }
                    for i, ln in enumerate(rec.lines)
                ],
                JSONB,
            )
        )
        .table_valued(
            column("position", Integer),
            column("product_id", Uuid),
            column("sku", Text),
            column("name", Text),
            column("unit_price", BigInteger),
            column("quantity", Integer),
            column("line_total", BigInteger),
        )
        .render_derived(name="v", with_types=True)
    )
    lines = (
        sa_insert(order_line)
        .from_select(
            [
                "order_id",
                "position",
                "product_id",
                "sku",
                "name",
                "unit_price",
                "quantity",
                "line_total",
            ],
            select(o.c.id, *rows.c).select_from(o).join(rows, literal(True)),
        )
        .returning(order_line.c.position)
        .cte("l")
    )
    assert rec.payment is not None
    pay = payment_update_if(o, rec.payment.id, {"amount": rec.total, "updated_at": now})
    ev = outbox_insert_from(o, "ev", events.ORDER_CREATED, events.created(rec))
    # No NOTIFY here: the relay wakes once for the order's end (whose event follows at once)
    # and takes order.created with it, instead of waking twice per checkout.
    stmt = select(o.c.id, relaxed_durability()).add_cte(lines, pay, ev)
    return (await session.execute(stmt)).first() is not None


async def abandon(
    session: AsyncSession, order_id: uuid.UUID, response: StoredResponse, now: datetime
) -> None:
    """Remove a pending order that charged nothing (out of stock, price changed) and keep
    the key's response, in one statement."""
    gone = (
        delete(order)
        .where(order.c.id == order_id, order.c.status == OrderStatus.PENDING)
        .returning(order.c.id)
        .cte("gone")
    )
    kept = (
        update(idempotency_key)
        .where(
            idempotency_key.c.order_id == order_id,
            idempotency_key.c.response_status.is_(None),
        )
        .values(response_status=response.status, response_body=response.body, completed_at=now)
        .returning(idempotency_key.c.key)
        .cte("kept")
    )
    await session.execute(select(func.count()).select_from(gone).add_cte(kept))


async def finish(
    session: AsyncSession,
    rec: OrderRecord,
    *,
    status: OrderStatus,
    note: str,
    actor: str,
    now: datetime,
    payment_values: dict[str, Any],
    event: tuple[str, dict[str, Any]],
    response: StoredResponse,
) -> bool:
    """End a pending order (paid or payment_failed): order, attempt, history, outbox event
    and the key's response in one statement; False when someone else ended it first."""
    o = (
        update(order)
        .where(order.c.id == rec.id, order.c.status == OrderStatus.PENDING)
        .values(status=status, lease_expires_at=None, updated_at=now)
        .returning(order.c.id)
        .cte("o")
    )
    assert rec.payment is not None
    pay = payment_update_if(o, rec.payment.id, {**payment_values, "updated_at": now})
    hist = history_insert_from(o, "h", status=status, note=note, actor=actor, at=now)
    ev = outbox_insert_from(o, "ev", event[0], event[1])
    key = (
        update(idempotency_key)
        .where(
            idempotency_key.c.order_id == rec.id,
            idempotency_key.c.response_status.is_(None),
            exists(select(o.c.id)),
        )
        .values(response_status=response.status, response_body=response.body, completed_at=now)
        .returning(idempotency_key.c.key)
        .cte("key")
    )
    stmt = select(o.c.id, notify()).add_cte(pay, hist, ev, key)
    return (await session.execute(stmt)).first() is not None


async def oldest_decline(
    session: AsyncSession, user_id: uuid.UUID, since: datetime
) -> datetime | None:
    """When the oldest decline of the window happened (for Retry-After)."""
    value: datetime | None = (
        await session.execute(
            select(func.min(payment.c.created_at)).where(
                payment.c.user_id == user_id,
                payment.c.status == PaymentStatus.DECLINED,
                payment.c.created_at > since,
            )
        )
    ).scalar_one_or_none()
    return value
