"""Order rules after checkout: reading, cancelling (refund + stock back), shipping."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import DateTime, Text, Uuid, exists, literal, select, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from empora_common.security import Principal
from empora_order.checkout.clients import ProductClient
from empora_order.orders import events
from empora_order.orders import repository as repo
from empora_order.orders.errors import InvalidTransition, OrderNotFound
from empora_order.orders.lifecycle import ensure_transition
from empora_order.orders.models import order
from empora_order.orders.records import OrderRecord, OrderStatus, PaymentStatus
from empora_order.payments.models import payment, refund
from empora_order.payments.provider import PaymentProvider

log = structlog.get_logger("empora.order.orders")

TZ = DateTime(timezone=True)


def actor_of(user: Principal) -> str:
    """Who made a change, as kept in the status history."""
    return f"{'admin' if user.is_admin else 'user'}:{user.user_id}"


def utcnow() -> datetime:
    return datetime.now(UTC)


async def owned_order(session: AsyncSession, order_id: uuid.UUID, user: Principal) -> OrderRecord:
    """The order if the caller owns it or is an admin; 404 otherwise (never 403)."""
    rec = await repo.load(session, order_id)
    if rec is None or (rec.user_id != user.user_id and not user.is_admin):
        raise OrderNotFound(f"No order {order_id}")
    return rec


async def ship(
    session: AsyncSession, rec: OrderRecord, admin: Principal, tracking_number: str | None
) -> OrderRecord:
    """paid → shipped with an optional tracking number; ``order.shipped``."""
    ensure_transition(rec.status, OrderStatus.SHIPPED)
    now = utcnow()
    rec.tracking_number = tracking_number
    note = f"Shipped (tracking {tracking_number})" if tracking_number else "Shipped"
    changed = await repo.transition(
        session,
        rec.id,
        from_status=rec.status,
        to_status=OrderStatus.SHIPPED,
        note=note,
        actor=actor_of(admin),
        now=now,
        values={"tracking_number": tracking_number},
        event=(events.ORDER_SHIPPED, events.shipped(rec)),
    )
    return await _after_transition(session, rec, changed, OrderStatus.SHIPPED)


async def deliver(session: AsyncSession, rec: OrderRecord, admin: Principal) -> OrderRecord:
    """shipped → delivered."""
    ensure_transition(rec.status, OrderStatus.DELIVERED)
    changed = await repo.transition(
        session,
        rec.id,
        from_status=rec.status,
        to_status=OrderStatus.DELIVERED,
        note="Delivered",
        actor=actor_of(admin),
        now=utcnow(),
    )
    return await _after_transition(session, rec, changed, OrderStatus.DELIVERED)


async def _after_transition(
    session: AsyncSession, rec: OrderRecord, changed: bool, target: OrderStatus
) -> OrderRecord:
    fresh = await repo.load(session, rec.id)
    assert fresh is not None
    if not changed:
        # A concurrent change won the race: judge the request against the current status.
        ensure_transition(fresh.status, target)
        raise InvalidTransition(f"The order is now '{fresh.status}'")
    return fresh


class Cancellations:
    """Cancel before shipping: refund the capture and return the stock, each exactly once.

    Step A commits ``cancelled`` with a pending refund (the guard on ``paid`` makes it happen
    once); step B refunds at the provider (idempotent per key) and commits the refund with the
    ``order.cancelled`` event; then the stock goes back (idempotent per order at the product
    service, and its consumer of ``order.cancelled`` repeats it). The reconciler finishes
    refunds a crash left pending.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        provider: PaymentProvider,
        products: ProductClient,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.provider = provider
        self.products = products

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def cancel(
        self,
        rec: OrderRecord,
        user: Principal | None,
        *,
        actor: str | None = None,
        note: str | None = None,
    ) -> OrderRecord:
        """paid → cancelled, refunded, stock returned; by a user, or by the system (``actor``
        and ``note`` given, ``user`` None)."""
        ensure_transition(rec.status, OrderStatus.CANCELLED)
        pay = rec.payment
        assert pay is not None and pay.reference is not None
        now = utcnow()
        refund_id = uuid.uuid4()
        if user is not None:
            actor = actor_of(user)
            note = "Cancelled by an admin" if user.is_admin else "Cancelled by the customer"
        assert actor is not None and note is not None
        async with self._tx() as session:
            changed = (
                update(order)
                .where(order.c.id == rec.id, order.c.status == OrderStatus.PAID)
                .values(status=OrderStatus.CANCELLED, updated_at=now)
                .returning(order.c.id)
                .cte("changed")
            )
            pending_refund = (
                sa_insert(refund)
                .from_select(
                    [
                        "id",
                        "payment_id",
                        "order_id",
                        "idempotency_key",
                        "amount",
                        "currency",
                        "status",
                        "created_at",
                    ],
                    select(
                        literal(refund_id, Uuid),
                        literal(pay.id, Uuid),
                        changed.c.id,
                        literal(f"{pay.idempotency_key}:refund", Text),
                        literal(pay.amount),
                        literal(pay.currency, Text),
                        literal("pending", Text),
                        literal(now, TZ),
                    ),
                )
                .returning(refund.c.id)
                .cte("ref")
            )
            hist = repo.history_insert_from(
                changed,
                "hist",
                status=OrderStatus.CANCELLED,
                note=note,
                actor=actor,
                at=now,
            )
            row = (
                await session.execute(select(changed.c.id).add_cte(pending_refund, hist))
            ).first()
        if row is None:
            async with self.sessionmaker() as session:
                current = await repo.load(session, rec.id)
            assert current is not None
            ensure_transition(current.status, OrderStatus.CANCELLED)
            raise InvalidTransition(f"The order is now '{current.status}'")
        await self.complete_refund(rec.id, refund_id)
        async with self.sessionmaker() as session:
            fresh = await repo.load(session, rec.id)
        assert fresh is not None
        return fresh

    async def complete_refund(self, order_id: uuid.UUID, refund_id: uuid.UUID) -> None:
        """Refund at the provider, commit it with ``order.cancelled``, return the stock."""
        async with self.sessionmaker() as session:
            rec = await repo.load(session, order_id)
            row = (await session.execute(select(refund).where(refund.c.id == refund_id))).one()
        assert rec is not None and rec.payment is not None and rec.payment.reference is not None
        if row.status == "pending":
            result = await self.provider.refund(
                row.idempotency_key,
                charge_reference=rec.payment.reference,
                amount=row.amount,
                currency=row.currency,
            )
            now = utcnow()
            async with self._tx() as session:
                done = (
                    update(refund)
                    .where(refund.c.id == refund_id, refund.c.status == "pending")
                    .values(status="succeeded", reference=result.reference, completed_at=now)
                    .returning(refund.c.id)
                    .cte("done")
                )
                pay = (
                    update(payment)
                    .where(payment.c.id == rec.payment.id, exists(select(done.c.id)))
                    .values(status=PaymentStatus.REFUNDED, updated_at=now)
                    .returning(payment.c.id)
                    .cte("pay")
                )
                data = events.cancelled(
                    rec,
                    refund_amount=row.amount,
                    refund_reference=result.reference,
                    refund_status="succeeded",
                )
                ev = repo.outbox_insert_from(done, "ev", events.ORDER_CANCELLED, data)
                await session.execute(select(done.c.id, repo.notify()).add_cte(pay, ev))
        lines: list[dict[str, Any]] = [
            {"product_id": str(ln.product_id), "quantity": ln.quantity} for ln in rec.lines
        ]
        try:
            await self.products.return_stock(rec.id, lines)
        except Exception as exc:  # the product service's order.cancelled consumer repeats it
            log.warning("return_stock_failed", order_id=str(rec.id), error=str(exc))

    async def stalled_refunds(self, older_than: timedelta, limit: int) -> list[tuple[Any, Any]]:
        """Refunds a crash left pending: (order id, refund id)."""
        cutoff = utcnow() - older_than
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(refund.c.order_id, refund.c.id)
                .where(refund.c.status == "pending", refund.c.created_at < cutoff)
                .order_by(refund.c.created_at)
                .limit(limit)
            )
            return [(r.order_id, r.id) for r in rows]
