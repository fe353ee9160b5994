"""SQL of checkout: each committed step of the orchestration is one statement (CTEs).

The steps of every checkout (claim, pricing, end) are built once with SQLAlchemy and run as
``PlainStatement``s on a plain connection outside any transaction: one statement is its own
transaction, so each step is one round trip, without the session's BEGIN/COMMIT and execution
machinery (about 1 ms of CPU per step here).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Text,
    Uuid,
    bindparam,
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

from empora_common import tracing
from empora_common.db import PlainStatement
from empora_common.logging import current_request_id
from empora_order.database import outbox
from empora_order.idempotency.models import idempotency_key
from empora_order.orders.models import order, order_line, status_history
from empora_order.orders.records import OrderRecord, OrderStatus, PaymentStatus
from empora_order.orders.repository import OUTBOX_COLUMNS, notify
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


def _p(name: str, type_: Any) -> Any:
    return bindparam(name, type_=type_)


def _outbox_insert(source: CTE, name: str) -> CTE:
    """An outbox row (parameters ``ev_*``) written only when ``source`` returned a row."""
    return (
        sa_insert(outbox)
        .from_select(
            OUTBOX_COLUMNS,
            select(
                _p("ev_id", Uuid),
                _p("ev_type", Text),
                literal(1, Integer),
                _p("ev_aggregate", Text),
                _p("ev_correlation", Text),
                _p("ev_data", JSONB),
                _p("ev_traceparent", Text),
            ).select_from(source),
        )
        .returning(outbox.c.seq)
        .cte(name)
    )


def _event_params(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "ev_id": uuid.uuid4(),
        "ev_type": event_type,
        "ev_aggregate": str(data["order_id"]),
        "ev_correlation": current_request_id(),
        "ev_data": data,
        "ev_traceparent": tracing.current_traceparent(),
    }


def _history_insert(source: CTE, name: str) -> CTE:
    """A status-history row (parameters ``h_*``) for the order id ``source`` returned."""
    return (
        sa_insert(status_history)
        .from_select(
            ["order_id", "status", "note", "actor", "at"],
            select(
                source.c.id,
                _p("h_status", Text),
                _p("h_note", Text),
                _p("h_actor", Text),
                _p("h_at", TZ),
            ),
        )
        .returning(status_history.c.id)
        .cte(name)
    )


def _declines() -> Any:
    return (
        select(func.count())
        .select_from(payment)
        .where(
            payment.c.user_id == _p("user_id", Uuid),
            payment.c.status == PaymentStatus.DECLINED,
            payment.c.created_at > _p("decline_since", TZ),
        )
        .scalar_subquery()
    )


# Statements are built once (with bind parameters) and reused: building a CTE statement costs
# about as much CPU as everything else a checkout does in this process.
@functools.cache
def _claim_statement(with_order: bool) -> Any:
    declines = _declines()
    key_row = select(
        _p("user_id", Uuid),
        _p("key", Text),
        _p("fingerprint", Text),
        _p("order_id", Uuid),
        _p("response_status", Integer),
        _p("response_body", JSONB),
        _p("now", TZ),
        _p("completed_at", TZ),
    )
    if with_order:
        key_row = key_row.where(declines <= _p("decline_limit", Integer))
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
    stmt = select(
        select(func.count()).select_from(k).scalar_subquery().label("claimed"),
        declines.label("declines"),
        relaxed_durability(),
    )
    if not with_order:
        return stmt
    o = (
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
                _p("order_id", Uuid),
                _p("number", Text),
                _p("user_id", Uuid),
                _p("customer_email", Text),
                literal(OrderStatus.PENDING.value, Text),
                _p("cart_id", Uuid),
                _p("cart_version", BigInteger),
                _p("reservation_id", Uuid),
                _p("requested_items", JSONB),
                _p("currency", Text),
                _p("shipping_address", JSONB),
                _p("lease_until", TZ),
                _p("now", TZ),
                _p("now", TZ),
            ).select_from(k),
        )
        .returning(order.c.id)
        .cte("o")
    )
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
                _p("payment_id", Uuid),
                o.c.id,
                _p("user_id", Uuid),
                _p("attempt", Integer),
                _p("payment_key", Text),
                _p("provider", Text),
                _p("token", Text),
                literal(0, BigInteger),
                _p("currency", Text),
                literal(PaymentStatus.PENDING.value, Text),
                _p("now", TZ),
                _p("now", TZ),
            ),
        )
        .returning(payment.c.id)
        .cte("p")
    )
    return stmt.add_cte(o, p, _history_insert(o, "h"))


async def claim(
    db: asyncpg.Connection,
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
    params: dict[str, Any] = {
        "user_id": user_id,
        "key": key,
        "fingerprint": fingerprint,
        "order_id": new_order.id if new_order else None,
        "response_status": response.status if response else None,
        "response_body": response.body if response else None,
        "now": now,
        "completed_at": now if response else None,
        "decline_since": decline_since,
    }
    if new_order is not None:
        pay = new_order.payment
        first = new_order.history[0]
        assert pay is not None
        params.update(
            decline_limit=decline_limit,
            number=new_order.number,
            customer_email=new_order.customer_email,
            cart_id=new_order.cart_id,
            cart_version=new_order.cart_version,
            reservation_id=new_order.reservation_id,
            requested_items=new_order.requested_items,
            currency=new_order.currency,
            shipping_address=new_order.shipping_address,
            lease_until=lease_until,
            payment_id=pay.id,
            attempt=pay.attempt,
            payment_key=pay.idempotency_key,
            provider=pay.provider,
            token=pay.token,
            h_status=first.status,
            h_note=first.note,
            h_actor=first.actor,
            h_at=first.at,
        )
    row = await _claim(new_order is not None).fetchrow(db, params)
    assert row is not None
    return ClaimResult(claimed=row["claimed"] > 0, declines=int(row["declines"]))


@functools.cache
def _claim(with_order: bool) -> PlainStatement:
    return PlainStatement(_claim_statement(with_order))


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


async def replace_response(
    session: AsyncSession, order_id: uuid.UUID, response: StoredResponse, now: datetime
) -> None:
    """Replace the response kept for the key that drove an order (its outcome changed)."""
    await session.execute(
        update(idempotency_key)
        .where(idempotency_key.c.order_id == order_id)
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


@functools.cache
def _pricing_statement() -> Any:
    o = (
        update(order)
        .where(
            order.c.id == _p("p_order_id", Uuid),
            order.c.status == OrderStatus.PENDING,
            order.c.priced_at.is_(None),
        )
        .values(
            subtotal=_p("p_subtotal", BigInteger),
            shipping=_p("p_shipping", BigInteger),
            total=_p("p_total", BigInteger),
            priced_at=_p("p_now", TZ),
            updated_at=_p("p_now", TZ),
        )
        .returning(order.c.id)
        .cte("o")
    )
    # The lines travel as one JSONB parameter, whatever their number.
    rows = (
        func.jsonb_to_recordset(_p("p_lines", JSONB))
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
    pay = (
        update(payment)
        .where(payment.c.id == _p("p_payment_id", Uuid), exists(select(o.c.id)))
        .values(amount=_p("p_total", BigInteger), updated_at=_p("p_now", TZ))
        .returning(payment.c.id)
        .cte("pay")
    )
    # No NOTIFY here: the relay wakes once for the order's end (whose event follows at once)
    # and takes order.created with it, instead of waking twice per checkout.
    return select(o.c.id, relaxed_durability()).add_cte(lines, pay, _outbox_insert(o, "ev"))


async def record_pricing(db: asyncpg.Connection, rec: OrderRecord, now: datetime) -> bool:
    """Write the lines as reserved, the totals, the attempt's amount and ``order.created``;
    False when the order was priced already (a resumed checkout)."""
    from empora_order.orders import events

    assert rec.payment is not None
    params = {
        "p_order_id": rec.id,
        "p_subtotal": rec.subtotal,
        "p_shipping": rec.shipping,
        "p_total": rec.total,
        "p_now": now,
        "p_payment_id": rec.payment.id,
        "p_lines": [
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
        **_event_params(events.ORDER_CREATED, events.created(rec)),
    }
    return await _pricing().fetchrow(db, params) is not None


@functools.cache
def _pricing() -> PlainStatement:
    return PlainStatement(_pricing_statement())


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


@functools.cache
def _finish_statement() -> Any:
    o = (
        update(order)
        .where(order.c.id == _p("f_order_id", Uuid), order.c.status == OrderStatus.PENDING)
        .values(status=_p("f_status", Text), lease_expires_at=None, updated_at=_p("f_now", TZ))
        .returning(order.c.id)
        .cte("o")
    )
    pay = (
        update(payment)
        .where(payment.c.id == _p("f_payment_id", Uuid), exists(select(o.c.id)))
        .values(
            status=_p("f_pay_status", Text),
            reference=_p("f_reference", Text),
            amount=_p("f_amount", BigInteger),
            decline_code=_p("f_decline_code", Text),
            captured_at=_p("f_captured_at", TZ),
            updated_at=_p("f_now", TZ),
        )
        .returning(payment.c.id)
        .cte("pay")
    )
    key = (
        update(idempotency_key)
        .where(
            idempotency_key.c.order_id == _p("f_order_id", Uuid),
            idempotency_key.c.response_status.is_(None),
            exists(select(o.c.id)),
        )
        .values(
            response_status=_p("f_response_status", Integer),
            response_body=_p("f_response_body", JSONB),
            completed_at=_p("f_now", TZ),
        )
        .returning(idempotency_key.c.key)
        .cte("key")
    )
    return select(o.c.id, notify()).add_cte(
        pay, _history_insert(o, "h"), _outbox_insert(o, "ev"), key
    )


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """What the end of a pending order writes on its payment attempt."""

    status: str
    reference: str | None
    amount: int
    decline_code: str | None = None
    captured_at: datetime | None = None


async def finish(
    db: asyncpg.Connection,
    rec: OrderRecord,
    *,
    status: OrderStatus,
    note: str,
    actor: str,
    now: datetime,
    payment_outcome: PaymentOutcome,
    event: tuple[str, dict[str, Any]],
    response: StoredResponse,
) -> bool:
    """End a pending order (paid or payment_failed): order, attempt, history, outbox event
    and the key's response in one statement; False when someone else ended it first."""
    assert rec.payment is not None
    params = {
        "f_order_id": rec.id,
        "f_status": status.value,
        "f_now": now,
        "f_payment_id": rec.payment.id,
        "f_pay_status": payment_outcome.status,
        "f_reference": payment_outcome.reference,
        "f_amount": payment_outcome.amount,
        "f_decline_code": payment_outcome.decline_code,
        "f_captured_at": payment_outcome.captured_at,
        "f_response_status": response.status,
        "f_response_body": response.body,
        "h_status": status.value,
        "h_note": note,
        "h_actor": actor,
        "h_at": now,
        **_event_params(*event),
    }
    return await _finish().fetchrow(db, params) is not None


@functools.cache
def _finish() -> PlainStatement:
    return PlainStatement(_finish_statement())


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
