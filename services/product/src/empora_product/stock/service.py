"""Stock rules: levels, movements, reservations (reserve, commit, release), returns, sweeping.

Every change of a stock row is a single conditional UPDATE, taken in product-id order when a
transaction touches several rows, so concurrent reservations never oversell or deadlock.
Services never commit: the caller's unit of work does.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from empora_common.messaging.outbox import add_events
from empora_contracts.events import StockChanged
from empora_product.documents import Row, rfc3339
from empora_product.models import outbox
from empora_product.stock import repository as repo
from empora_product.stock.errors import (
    OutOfStock,
    ReservationCommitted,
    ReservationNotFound,
    ReservationReleased,
    StockBelowReserved,
)
from empora_product.stock.schemas import (
    Line,
    ReservationIn,
    ReservationOut,
    StockLevels,
)

log = structlog.get_logger("empora.product.stock")


def levels_out(product_id: uuid.UUID, levels: repo.Levels) -> StockLevels:
    """The admin view of a stock row."""
    on_hand, reserved = levels
    return StockLevels(
        product_id=product_id, on_hand=on_hand, reserved=reserved, available=on_hand - reserved
    )


def merge_lines(lines: Iterable[Line]) -> list[tuple[uuid.UUID, int]]:
    """Lines summed per product, in product-id order (the order rows are locked in)."""
    totals: dict[uuid.UUID, int] = defaultdict(int)
    for line in lines:
        totals[line.product_id] += line.quantity
    return sorted(totals.items())


async def _stock_changed(
    session: AsyncSession, product_id: uuid.UUID, levels: repo.Levels, reason: str
) -> None:
    await _stocks_changed(session, [(product_id, levels)], reason)


async def _stocks_changed(
    session: AsyncSession, changes: list[tuple[uuid.UUID, repo.Levels]], reason: str
) -> None:
    """One ``stock.changed`` event per product, written in one statement."""
    await add_events(
        session,
        outbox,
        [
            {
                "event_type": "stock.changed",
                "aggregate_id": str(product_id),
                "data": StockChanged(
                    product_id=str(product_id),
                    on_hand=on_hand,
                    reserved=reserved,
                    available=on_hand - reserved,
                    reason=reason,
                ).data(),
            }
            for product_id, (on_hand, reserved) in changes
        ],
    )


# --- admin ------------------------------------------------------------------------------


async def get_levels(session: AsyncSession, product_id: uuid.UUID) -> StockLevels:
    """Current ``on_hand``, ``reserved`` and ``available``."""
    levels = await repo.levels(session, product_id)
    return levels_out(product_id, levels or (0, 0))


async def initialize(
    session: AsyncSession, product_id: uuid.UUID, on_hand: int, actor_id: uuid.UUID | None
) -> repo.Levels:
    """The stock row of a new product, with its initial quantity recorded."""
    await repo.ensure_row(session, product_id, on_hand)
    levels = (on_hand, 0)
    if on_hand:
        await repo.insert_movement(
            session,
            product_id=product_id,
            kind="initial",
            delta=on_hand,
            reason="initial stock",
            reference=None,
            levels=levels,
            actor_id=actor_id,
        )
        await _stock_changed(session, product_id, levels, "initial")
    return levels


async def set_quantity(
    session: AsyncSession, product_id: uuid.UUID, quantity: int, actor_id: uuid.UUID | None
) -> StockLevels:
    """Set ``on_hand``; never below what is reserved (409)."""
    await repo.ensure_row(session, product_id)
    before = await repo.levels(session, product_id, for_update=True)
    assert before is not None
    if quantity < before[1]:
        raise StockBelowReserved(
            f"{before[1]} units are reserved; on_hand cannot be set to {quantity}"
        )
    after = await repo.set_on_hand(session, product_id, quantity)
    assert after is not None
    if after != before:
        await repo.insert_movement(
            session,
            product_id=product_id,
            kind="set",
            delta=after[0] - before[0],
            reason="stock count set",
            reference=None,
            levels=after,
            actor_id=actor_id,
        )
        await _stock_changed(session, product_id, after, "set")
    return levels_out(product_id, after)


async def adjust(
    session: AsyncSession,
    product_id: uuid.UUID,
    delta: int,
    reason: str,
    reference: str | None,
    actor_id: uuid.UUID | None,
) -> StockLevels:
    """A relative change of ``on_hand`` with its reason; never below ``reserved`` (409)."""
    await repo.ensure_row(session, product_id)
    after = await repo.change_on_hand(session, product_id, delta)
    if after is None:
        current = await repo.levels(session, product_id)
        on_hand, reserved = current or (0, 0)
        raise StockBelowReserved(
            f"on_hand {on_hand} {delta:+d} would fall below the {reserved} reserved units"
        )
    if delta:
        await repo.insert_movement(
            session,
            product_id=product_id,
            kind="adjustment",
            delta=delta,
            reason=reason,
            reference=reference,
            levels=after,
            actor_id=actor_id,
        )
        await _stock_changed(session, product_id, after, "adjustment")
    return levels_out(product_id, after)


# --- reservations -----------------------------------------------------------------------


def _reservation_out(row: Row, lines: Iterable[Row]) -> ReservationOut:
    return ReservationOut.model_validate(
        {
            "reservation_id": row["id"],
            "order_id": row["order_id"],
            "status": row["status"],
            "expires_at": rfc3339(row["expires_at"]),
            "lines": [
                {
                    "product_id": line["product_id"],
                    "sku": line["sku"],
                    "name": line["name"],
                    "quantity": line["quantity"],
                    "unit_price": {
                        "amount": line["unit_price_amount"],
                        "currency": line["currency"],
                    },
                }
                for line in lines
            ],
        }
    )


async def _existing(session: AsyncSession, reservation_id: uuid.UUID) -> ReservationOut:
    row = await repo.get_reservation(session, reservation_id)
    if row is None:
        raise ReservationNotFound(f"No reservation {reservation_id}")
    return _reservation_out(row, await repo.reservation_lines(session, reservation_id))


async def reserve(
    session: AsyncSession, request: ReservationIn, default_ttl: int
) -> tuple[ReservationOut, bool]:
    """Reserve every line or none: ``(reservation, created)``; 409 ``out-of-stock`` otherwise.

    The caller picks the reservation id, so a retry answers the existing reservation.
    """
    ttl = request.ttl_seconds or default_ttl
    expires_at = await repo.insert_reservation(
        session, request.reservation_id, request.order_id, ttl
    )
    if expires_at is None:
        return await _existing(session, request.reservation_id), False
    lines = merge_lines(request.lines)
    products = await repo.products_for_lines(session, [pid for pid, _ in lines])
    reserved: list[tuple[uuid.UUID, int, repo.Levels]] = []
    failed = False
    for product_id, quantity in lines:
        info = products.get(product_id)
        if info is None or not info["is_active"]:
            failed = True
        if failed:
            # Doomed already: take no more locks, only report below.
            continue
        levels = await repo.reserve(session, product_id, quantity)
        if levels is None:
            failed = True
            continue
        reserved.append((product_id, quantity, levels))
    if failed:
        ok = {product_id for product_id, _, _ in reserved}
        raise OutOfStock(await _short_lines(session, lines, products, ok))
    stored = [
        {
            "product_id": product_id,
            "quantity": quantity,
            "sku": products[product_id]["sku"],
            "name": products[product_id]["name"],
            "unit_price_amount": products[product_id]["price_amount"],
            "currency": products[product_id]["currency"],
        }
        for product_id, quantity, _ in reserved
    ]
    await repo.insert_lines(session, request.reservation_id, stored)
    await _stocks_changed(session, [(pid, levels) for pid, _, levels in reserved], "reserved")
    # Answered from what was just written: reading it back would cost two more statements.
    header = {
        "id": request.reservation_id,
        "order_id": request.order_id,
        "status": "active",
        "expires_at": expires_at,
    }
    return _reservation_out(header, stored), True


async def _short_lines(
    session: AsyncSession,
    lines: list[tuple[uuid.UUID, int]],
    products: Mapping[uuid.UUID, Any],
    served: set[uuid.UUID],
) -> list[dict[str, Any]]:
    """Every line that cannot be served, with what is available (archived/unknown: 0)."""
    available = await repo.available_of(session, [pid for pid, _ in lines])
    short: list[dict[str, Any]] = []
    for product_id, quantity in lines:
        if product_id in served:
            continue
        info = products.get(product_id)
        have = available.get(product_id, 0) if info is not None and info["is_active"] else 0
        if have < quantity:
            short.append({"product_id": str(product_id), "requested": quantity, "available": have})
    return short


async def commit(session: AsyncSession, reservation_id: uuid.UUID) -> ReservationOut:
    """The reserved stock leaves ``on_hand``; idempotent; re-reserves after expiry if it can;
    409 once released."""
    row = await repo.get_reservation(session, reservation_id, for_update=True)
    if row is None:
        raise ReservationNotFound(f"No reservation {reservation_id}")
    lines = await repo.reservation_lines(session, reservation_id)
    if row["status"] == "committed":
        return _reservation_out(row, lines)
    if row["status"] == "released":
        # Given up by its order (declined, abandoned, or refunded because the stock was
        # gone): it may never take stock again, or a refunded order would keep goods.
        raise ReservationReleased("This reservation was released; it cannot be committed")
    still_held = row["status"] == "active"
    reference = f"order:{row['order_id']}" if row["order_id"] else f"reservation:{reservation_id}"
    short: list[dict[str, Any]] = []
    changes: list[tuple[uuid.UUID, int, repo.Levels]] = []
    for line in lines:
        product_id, quantity = line["product_id"], line["quantity"]
        if still_held:
            levels = await repo.consume_reserved(session, product_id, quantity)
        elif short:
            levels = None
        else:
            # Expired or released: take the stock again if it is still there.
            levels = await repo.consume_available(session, product_id, quantity)
        if levels is None:
            short.append({"product_id": str(product_id), "requested": quantity, "available": 0})
            continue
        changes.append((product_id, quantity, levels))
    if short:
        served = {product_id for product_id, _, _ in changes}
        merged = [(line["product_id"], line["quantity"]) for line in lines]
        # Archived products still count here: what was paid for is delivered if it exists.
        anything = {key: {"is_active": True} for key in [pid for pid, _ in merged]}
        raise OutOfStock(await _short_lines(session, merged, anything, served) or short)
    for product_id, quantity, levels in changes:
        await repo.insert_movement(
            session,
            product_id=product_id,
            kind="commit",
            delta=-quantity,
            reason="reservation committed"
            if still_held
            else "reservation re-reserved and committed",
            reference=reference,
            levels=levels,
        )
    await _stocks_changed(session, [(pid, levels) for pid, _, levels in changes], "committed")
    updated = await repo.set_status(session, reservation_id, "committed")
    return _reservation_out(updated, lines)


async def release(session: AsyncSession, reservation_id: uuid.UUID) -> ReservationOut:
    """Give the reserved stock back; idempotent; 409 once committed. An expired reservation
    becomes released too, so that a late commit cannot take stock for a given-up order."""
    row = await repo.get_reservation(session, reservation_id, for_update=True)
    if row is None:
        raise ReservationNotFound(f"No reservation {reservation_id}")
    lines = await repo.reservation_lines(session, reservation_id)
    if row["status"] == "committed":
        raise ReservationCommitted("This reservation is committed; cancel the order instead")
    if row["status"] == "expired":
        # The sweeper gave the stock back already; released, it can no longer be committed.
        updated = await repo.set_status(session, reservation_id, "released")
        return _reservation_out(updated, lines)
    if row["status"] != "active":
        return _reservation_out(row, lines)
    for line in lines:
        levels = await repo.unreserve(session, line["product_id"], line["quantity"])
        if levels is not None:
            await _stock_changed(session, line["product_id"], levels, "released")
    updated = await repo.set_status(session, reservation_id, "released")
    return _reservation_out(updated, lines)


async def return_stock(session: AsyncSession, order_id: uuid.UUID, lines: Iterable[Line]) -> bool:
    """Put a cancelled order's stock back on hand, once per order; False when already done or
    when the order's reservation was never committed (nothing of it left the shelf)."""
    status = await repo.order_reservation_status(session, order_id)
    if status is not None and status != "committed":
        log.warning("return_without_committed_reservation", order_id=str(order_id), status=status)
        return False
    if not await repo.insert_return(session, order_id):
        return False
    for product_id, quantity in merge_lines(lines):
        levels = await repo.change_on_hand(session, product_id, quantity)
        if levels is None:  # an unknown product: nothing to return to
            log.warning("return_unknown_product", product_id=str(product_id))
            continue
        await repo.insert_movement(
            session,
            product_id=product_id,
            kind="return",
            delta=quantity,
            reason="order cancelled",
            reference=f"order:{order_id}",
            levels=levels,
        )
        await _stock_changed(session, product_id, levels, "returned")
    return True


async def sweep_expired(session: AsyncSession, batch: int) -> int:
    """Release a batch of expired, uncommitted reservations; returns how many.

    ``FOR UPDATE SKIP LOCKED`` lets several instances sweep at once, and a reservation being
    committed right now is simply skipped.
    """
    ids = await repo.claim_expired(session, batch)
    if not ids:
        return 0
    for product_id, quantity in await repo.summed_lines(session, ids):
        levels = await repo.unreserve(session, product_id, quantity)
        if levels is not None:
            await _stock_changed(session, product_id, levels, "expired")
    await repo.mark_expired(session, ids)
    return len(ids)
