"""All SQL of the stock slice. Every stock change is one conditional UPDATE on one row.

The statements of the reservation path are built once with bind parameters and reused:
building a SQLAlchemy expression costs more CPU than executing it (measured here: a stock
update built per call ~0.9 ms of CPU, prebuilt ~0.36 ms).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from empora_product.models import (
    product,
    reservation,
    reservation_line,
    stock,
    stock_movement,
    stock_return,
)

Levels = tuple[int, int]  # (on_hand, reserved)


async def _levels(
    session: AsyncSession, statement: Any, params: dict[str, Any] | None = None
) -> Levels | None:
    row = (await session.execute(statement, params)).first()
    return (int(row[0]), int(row[1])) if row is not None else None


_RET = (stock.c.on_hand, stock.c.reserved)
_PID = sa.bindparam("pid", type_=sa.Uuid)
_QTY = sa.bindparam("qty", type_=sa.Integer)
_ROW = stock.update().where(stock.c.product_id == _PID)
_RESERVE = (
    _ROW.where(stock.c.on_hand - stock.c.reserved >= _QTY)
    .values(reserved=stock.c.reserved + _QTY, updated_at=sa.func.now())
    .returning(*_RET)
)
_UNRESERVE = (
    _ROW.where(stock.c.reserved >= _QTY)
    .values(reserved=stock.c.reserved - _QTY, updated_at=sa.func.now())
    .returning(*_RET)
)
_CONSUME_RESERVED = (
    _ROW.where(stock.c.reserved >= _QTY)
    .values(
        on_hand=stock.c.on_hand - _QTY,
        reserved=stock.c.reserved - _QTY,
        updated_at=sa.func.now(),
    )
    .returning(*_RET)
)
_SET_ON_HAND = (
    _ROW.where(stock.c.reserved <= _QTY)
    .values(on_hand=_QTY, updated_at=sa.func.now())
    .returning(*_RET)
)
_CHANGE_ON_HAND = (  # qty is the signed delta here
    _ROW.where(stock.c.on_hand + _QTY >= stock.c.reserved)
    .values(on_hand=stock.c.on_hand + _QTY, updated_at=sa.func.now())
    .returning(*_RET)
)
_CONSUME_AVAILABLE = (
    _ROW.where(stock.c.on_hand - stock.c.reserved >= _QTY)
    .values(on_hand=stock.c.on_hand - _QTY, updated_at=sa.func.now())
    .returning(*_RET)
)


async def ensure_row(session: AsyncSession, product_id: uuid.UUID, on_hand: int = 0) -> None:
    """Create the stock row of a product if it has none."""
    await session.execute(
        insert(stock)
        .values(product_id=product_id, on_hand=on_hand, reserved=0)
        .on_conflict_do_nothing(index_elements=[stock.c.product_id])
    )


async def levels(
    session: AsyncSession, product_id: uuid.UUID, *, for_update: bool = False
) -> Levels | None:
    """``(on_hand, reserved)``; locked for this transaction when asked."""
    statement = sa.select(*_RET).where(stock.c.product_id == product_id)
    if for_update:
        statement = statement.with_for_update()
    return await _levels(session, statement)


async def set_on_hand(session: AsyncSession, product_id: uuid.UUID, quantity: int) -> Levels | None:
    """``on_hand = quantity`` unless that is below ``reserved``."""
    return await _levels(session, _SET_ON_HAND, {"pid": product_id, "qty": quantity})


async def change_on_hand(session: AsyncSession, product_id: uuid.UUID, delta: int) -> Levels | None:
    """``on_hand += delta`` unless the result would fall below ``reserved``."""
    return await _levels(session, _CHANGE_ON_HAND, {"pid": product_id, "qty": delta})


async def reserve(session: AsyncSession, product_id: uuid.UUID, quantity: int) -> Levels | None:
    """``reserved += quantity`` only while that much is available (no oversell)."""
    return await _levels(session, _RESERVE, {"pid": product_id, "qty": quantity})


async def unreserve(session: AsyncSession, product_id: uuid.UUID, quantity: int) -> Levels | None:
    """``reserved -= quantity`` (a release)."""
    return await _levels(session, _UNRESERVE, {"pid": product_id, "qty": quantity})


async def consume_reserved(
    session: AsyncSession, product_id: uuid.UUID, quantity: int
) -> Levels | None:
    """A commit of reserved stock: it leaves ``on_hand`` and ``reserved``."""
    return await _levels(session, _CONSUME_RESERVED, {"pid": product_id, "qty": quantity})


async def consume_available(
    session: AsyncSession, product_id: uuid.UUID, quantity: int
) -> Levels | None:
    """A commit without a live reservation: takes from what is available, if enough."""
    return await _levels(session, _CONSUME_AVAILABLE, {"pid": product_id, "qty": quantity})


async def available_of(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """``{product id: available}`` (unlocked; for error reports)."""
    rows = await session.execute(
        sa.select(stock.c.product_id, stock.c.on_hand - stock.c.reserved).where(
            stock.c.product_id.in_(ids)
        )
    )
    return {r[0]: max(int(r[1]), 0) for r in rows}


async def insert_movement(
    session: AsyncSession,
    *,
    product_id: uuid.UUID,
    kind: str,
    delta: int,
    reason: str,
    reference: str | None,
    levels: Levels,
    actor_id: uuid.UUID | None = None,
) -> None:
    """Record one change of ``on_hand`` in the movement history."""
    await session.execute(
        _INSERT_MOVEMENT,
        {
            "product_id": product_id,
            "kind": kind,
            "delta": delta,
            "reason": reason,
            "reference": reference,
            "on_hand_after": levels[0],
            "reserved_after": levels[1],
            "actor_id": actor_id,
        },
    )


_INSERT_MOVEMENT = stock_movement.insert()


async def movements(
    session: AsyncSession, product_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[RowMapping], int]:
    """A page of a product's movements, newest first, and their total."""
    where = stock_movement.c.product_id == product_id
    total = await session.scalar(sa.select(sa.func.count()).where(where))
    rows = await session.execute(
        sa.select(stock_movement)
        .where(where)
        .order_by(stock_movement.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.mappings()), int(total or 0)


async def products_for_lines(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, RowMapping]:
    """Name, SKU, price and status of the products of some lines."""
    rows = await session.execute(_PRODUCTS_FOR_LINES, {"ids": list(ids)})
    return {r["id"]: r for r in rows.mappings()}


_PRODUCTS_FOR_LINES = sa.select(
    product.c.id,
    product.c.sku,
    product.c.name,
    product.c.price_amount,
    product.c.currency,
    product.c.is_active,
).where(product.c.id.in_(sa.bindparam("ids", expanding=True)))


# --- reservations -----------------------------------------------------------------------


async def insert_reservation(
    session: AsyncSession, reservation_id: uuid.UUID, order_id: uuid.UUID | None, ttl: int
) -> datetime | None:
    """Create an active reservation: its expiry, or None when that id already exists."""
    result = await session.execute(
        _INSERT_RESERVATION,
        {"r_id": reservation_id, "r_order_id": order_id, "ttl": timedelta(seconds=ttl)},
    )
    expires_at: datetime | None = result.scalar_one_or_none()
    return expires_at


_INSERT_RESERVATION = (
    insert(reservation)
    .values(
        id=sa.bindparam("r_id", type_=sa.Uuid),
        order_id=sa.bindparam("r_order_id", type_=sa.Uuid),
        status="active",
        expires_at=sa.func.now() + sa.bindparam("ttl", type_=sa.Interval()),
    )
    .on_conflict_do_nothing(index_elements=[reservation.c.id])
    .returning(reservation.c.expires_at)
)


async def insert_lines(
    session: AsyncSession, reservation_id: uuid.UUID, lines: Iterable[dict[str, Any]]
) -> None:
    """Store the reserved lines with their price snapshot."""
    rows = [{"reservation_id": reservation_id, **line} for line in lines]
    if rows:
        await session.execute(reservation_line.insert(), rows)


async def get_reservation(
    session: AsyncSession, reservation_id: uuid.UUID, *, for_update: bool = False
) -> RowMapping | None:
    """A reservation row (locked when asked)."""
    statement = _RESERVATION_FOR_UPDATE if for_update else _RESERVATION
    return (await session.execute(statement, {"id": reservation_id})).mappings().first()


_RESERVATION = sa.select(reservation).where(reservation.c.id == sa.bindparam("id", type_=sa.Uuid))
_RESERVATION_FOR_UPDATE = _RESERVATION.with_for_update()


async def order_reservation_status(session: AsyncSession, order_id: uuid.UUID) -> str | None:
    """The status of an order's reservation: ``committed`` if any of them is, else the newest
    one's; None when the order reserved nothing here."""
    rows = (
        await session.execute(
            sa.select(reservation.c.status)
            .where(reservation.c.order_id == order_id)
            .order_by(reservation.c.created_at.desc())
        )
    ).scalars()
    statuses = list(rows)
    if not statuses:
        return None
    return "committed" if "committed" in statuses else statuses[0]


async def reservation_lines(session: AsyncSession, reservation_id: uuid.UUID) -> list[RowMapping]:
    """A reservation's lines in product-id order (the lock order)."""
    rows = await session.execute(_RESERVATION_LINES, {"id": reservation_id})
    return list(rows.mappings())


_RESERVATION_LINES = (
    sa.select(reservation_line)
    .where(reservation_line.c.reservation_id == sa.bindparam("id", type_=sa.Uuid))
    .order_by(reservation_line.c.product_id)
)


async def set_status(session: AsyncSession, reservation_id: uuid.UUID, status: str) -> RowMapping:
    """Move a reservation to ``committed``, ``released`` or ``expired``."""
    result = await session.execute(_set_status_statement(status), {"r_id": reservation_id})
    return result.mappings().one()


@functools.cache
def _set_status_statement(status: str) -> Any:
    stamps: dict[str, Any] = {}
    if status == "committed":
        stamps["committed_at"] = sa.func.now()
    elif status in ("released", "expired"):
        stamps["released_at"] = sa.func.now()
    return (
        reservation.update()
        .where(reservation.c.id == sa.bindparam("r_id", type_=sa.Uuid))
        .values(status=status, updated_at=sa.func.now(), **stamps)
        .returning(*reservation.c)
    )


async def claim_expired(session: AsyncSession, batch: int) -> list[uuid.UUID]:
    """Lock a batch of expired active reservations, skipping ones another worker holds."""
    rows = await session.execute(
        sa.select(reservation.c.id)
        .where(reservation.c.status == "active", reservation.c.expires_at < sa.func.now())
        .order_by(reservation.c.expires_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars())


async def summed_lines(
    session: AsyncSession, reservation_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, int]]:
    """``[(product id, total quantity)]`` of several reservations, in product-id order."""
    rows = await session.execute(
        sa.select(reservation_line.c.product_id, sa.func.sum(reservation_line.c.quantity))
        .where(reservation_line.c.reservation_id.in_(reservation_ids))
        .group_by(reservation_line.c.product_id)
        .order_by(reservation_line.c.product_id)
    )
    return [(r[0], int(r[1])) for r in rows]


async def mark_expired(session: AsyncSession, reservation_ids: Sequence[uuid.UUID]) -> None:
    """Set claimed reservations to ``expired``."""
    await session.execute(
        reservation.update()
        .where(reservation.c.id.in_(reservation_ids))
        .values(status="expired", released_at=sa.func.now(), updated_at=sa.func.now())
    )


async def insert_return(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """Remember that an order's stock came back; False when it already had."""
    result = await session.execute(
        insert(stock_return)
        .values(order_id=order_id)
        .on_conflict_do_nothing(index_elements=[stock_return.c.order_id])
        .returning(stock_return.c.order_id)
    )
    return result.first() is not None
