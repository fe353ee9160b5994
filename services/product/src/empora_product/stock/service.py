"""Stock rules: levels, movements, reservations (reserve, commit, release), returns, sweeping.

Every change of a stock row is a single conditional UPDATE, taken in product-id order when a
transaction touches several rows, so concurrent reservations never oversell or deadlock.
Services never commit: the caller's unit of work does.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import asyncpg
import structlog

from empora_common.errors import ValidationFailed
from empora_contracts.events import StockChanged
from empora_product.documents import Row, rfc3339
from empora_product.stock import repository as repo
from empora_product.stock.errors import (
    OutOfStock,
    ReservationCommitted,
    ReservationNotFound,
    ReservationReleased,
    StockBelowReserved,
)
from empora_product.stock.schemas import MAX_QUANTITY, Line, ReservationIn, StockLevels

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


def stock_events(
    changes: Sequence[tuple[uuid.UUID, repo.Levels]], reason: str
) -> list[dict[str, Any]]:
    """One ``stock.changed`` event per product."""
    return [
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
    ]


def movement(
    product_id: uuid.UUID,
    kind: str,
    delta: int,
    reason: str,
    reference: str | None,
    levels: repo.Levels,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """One change of ``on_hand`` for the movement history."""
    return {
        "product_id": product_id,
        "kind": kind,
        "delta": delta,
        "reason": reason,
        "reference": reference,
        "on_hand_after": levels[0],
        "reserved_after": levels[1],
        "actor_id": actor_id,
    }


async def _moved(conn: asyncpg.Connection, change: dict[str, Any], reason: str) -> None:
    """Record one movement with its ``stock.changed`` event."""
    levels = (change["on_hand_after"], change["reserved_after"])
    await repo.record(conn, [change], stock_events([(change["product_id"], levels)], reason))


# --- admin ------------------------------------------------------------------------------


async def get_levels(conn: asyncpg.Connection, product_id: uuid.UUID) -> StockLevels:
    """Current ``on_hand``, ``reserved`` and ``available``."""
    levels = await repo.levels(conn, product_id)
    return levels_out(product_id, levels or (0, 0))


async def initialize(
    conn: asyncpg.Connection, product_id: uuid.UUID, on_hand: int, actor_id: uuid.UUID | None
) -> repo.Levels:
    """The stock row of a new product, with its initial quantity recorded."""
    await repo.ensure_row(conn, product_id, on_hand)
    levels = (on_hand, 0)
    if on_hand:
        change = movement(product_id, "initial", on_hand, "initial stock", None, levels, actor_id)
        await _moved(conn, change, "initial")
    return levels


async def set_quantity(
    conn: asyncpg.Connection, product_id: uuid.UUID, quantity: int, actor_id: uuid.UUID | None
) -> StockLevels:
    """Set ``on_hand``; never below what is reserved (409)."""
    await repo.ensure_row(conn, product_id)
    before = await repo.levels(conn, product_id, for_update=True)
    assert before is not None
    if quantity < before[1]:
        raise StockBelowReserved(
            f"{before[1]} units are reserved; on_hand cannot be set to {quantity}"
        )
    after = await repo.set_on_hand(conn, product_id, quantity)
    assert after is not None
    if after != before:
        change = movement(
            product_id, "set", after[0] - before[0], "stock count set", None, after, actor_id
        )
        await _moved(conn, change, "set")
    return levels_out(product_id, after)


async def adjust(
    conn: asyncpg.Connection,
    product_id: uuid.UUID,
    delta: int,
    reason: str,
    reference: str | None,
    actor_id: uuid.UUID | None,
) -> StockLevels:
    """A relative change of ``on_hand`` with its reason; never below ``reserved`` (409), never
    above the most a stock count may be (422, like setting it)."""
    await repo.ensure_row(conn, product_id)
    after = await repo.adjust_on_hand(conn, product_id, delta, MAX_QUANTITY)
    if after is None:
        current = await repo.levels(conn, product_id)
        on_hand, reserved = current or (0, 0)
        if on_hand + delta > MAX_QUANTITY:
            raise ValidationFailed(
                errors=[
                    {
                        "field": "delta",
                        "message": f"on_hand {on_hand} {delta:+d} would exceed {MAX_QUANTITY}",
                    }
                ]
            )
        raise StockBelowReserved(
            f"on_hand {on_hand} {delta:+d} would fall below the {reserved} reserved units"
        )
    if delta:
        change = movement(product_id, "adjustment", delta, reason, reference, after, actor_id)
        await _moved(conn, change, "adjustment")
    return levels_out(product_id, after)


# --- reservations -----------------------------------------------------------------------


def reservation_json(row: Row, lines: Iterable[Row]) -> dict[str, Any]:
    """A reservation as the internal API answers it (``ReservationOut``), built directly:
    validating our own rows through pydantic cost more than the statements behind them."""
    order_id = row["order_id"]
    return {
        "reservation_id": str(row["id"]),
        "order_id": str(order_id) if order_id is not None else None,
        "status": row["status"],
        "expires_at": rfc3339(row["expires_at"]),
        "lines": [
            {
                "product_id": str(line["product_id"]),
                "sku": line["sku"],
                "name": line["name"],
                "quantity": line["quantity"],
                "unit_price": {"amount": line["unit_price_amount"], "currency": line["currency"]},
            }
            for line in lines
        ],
    }


async def _existing(conn: asyncpg.Connection, reservation_id: uuid.UUID) -> dict[str, Any]:
    row, lines = await repo.reservation(conn, reservation_id)
    if row is None:
        raise ReservationNotFound(f"No reservation {reservation_id}")
    return reservation_json(row, lines)


async def reserve(
    conn: asyncpg.Connection, request: ReservationIn, default_ttl: int
) -> tuple[dict[str, Any], bool]:
    """Reserve every line or none: ``(reservation, created)``; 409 ``out-of-stock`` otherwise.

    The caller picks the reservation id, so a retry answers the existing reservation.
    """
    ttl = request.ttl_seconds or default_ttl
    lines = merge_lines(request.lines)
    expires_at, products = await repo.create_reservation(
        conn, request.reservation_id, request.order_id, ttl, [pid for pid, _ in lines]
    )
    if expires_at is None:
        return await _existing(conn, request.reservation_id), False
    reserved: list[tuple[uuid.UUID, int, repo.Levels]] = []
    failed = False
    for product_id, quantity in lines:
        info = products.get(product_id)
        if info is None or not info["is_active"]:
            failed = True
        if failed:
            # Doomed already: take no more locks, only report below.
            continue
        levels = await repo.reserve(conn, product_id, quantity)
        if levels is None:
            failed = True
            continue
        reserved.append((product_id, quantity, levels))
    if failed:
        ok = {product_id for product_id, _, _ in reserved}
        raise OutOfStock(await _short_lines(conn, lines, products, ok))
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
    events = stock_events([(pid, levels) for pid, _, levels in reserved], "reserved")
    await repo.store_lines(conn, request.reservation_id, stored, events)
    # Answered from what was just written: reading it back would cost another statement.
    header = {
        "id": request.reservation_id,
        "order_id": request.order_id,
        "status": "active",
        "expires_at": expires_at,
    }
    return reservation_json(header, stored), True


async def _short_lines(
    conn: asyncpg.Connection,
    lines: list[tuple[uuid.UUID, int]],
    products: Mapping[uuid.UUID, Any],
    served: set[uuid.UUID],
) -> list[dict[str, Any]]:
    """Every line that cannot be served, with what is available (archived/unknown: 0)."""
    available = await repo.available_of(conn, [pid for pid, _ in lines])
    short: list[dict[str, Any]] = []
    for product_id, quantity in lines:
        if product_id in served:
            continue
        info = products.get(product_id)
        have = available.get(product_id, 0) if info is not None and info["is_active"] else 0
        if have < quantity:
            short.append({"product_id": str(product_id), "requested": quantity, "available": have})
    return short


async def commit(conn: asyncpg.Connection, reservation_id: uuid.UUID) -> dict[str, Any]:
    """The reserved stock leaves ``on_hand``; idempotent; re-reserves after expiry if it can;
    409 once released."""
    row, lines = await repo.reservation(conn, reservation_id, for_update=True)
    if row is None:
        raise ReservationNotFound(f"No reservation {reservation_id}")
    if row["status"] == "committed":
        return reservation_json(row, lines)
    if row["status"] == "released":
        # Given up by its order (declined, abandoned, or refunded because the stock was
        # gone): it may never take stock again, or a refunded order would keep goods.
        raise ReservationReleased("This reservation was released; it cannot be committed")
    still_held = row["status"] == "active"
    reference = f"order:{row['order_id']}" if row["order_id"] else f"reservation:{reservation_id}"
    reason = "reservation committed" if still_held else "reservation re-reserved and committed"
    short: list[dict[str, Any]] = []
    changes: list[tuple[uuid.UUID, int, repo.Levels]] = []
    for line in lines:
        product_id, quantity = line["product_id"], line["quantity"]
        if still_held:
            levels = await repo.consume_reserved(conn, product_id, quantity)
        elif short:
            levels = None
        else:
            # Expired or released: take the stock again if it is still there.
            levels = await repo.consume_available(conn, product_id, quantity)
        if levels is None:
            short.append({"product_id": str(product_id), "requested": quantity, "available": 0})
            continue
        changes.append((product_id, quantity, levels))
    if short:
        served = {product_id for product_id, _, _ in changes}
        merged = [(line["product_id"], line["quantity"]) for line in lines]
        # Archived products still count here: what was paid for is delivered if it exists.
        anything = {key: {"is_active": True} for key in [pid for pid, _ in merged]}
        raise OutOfStock(await _short_lines(conn, merged, anything, served) or short)
    updated = await repo.mark_committed(
        conn,
        reservation_id,
        [movement(pid, "commit", -qty, reason, reference, levels) for pid, qty, levels in changes],
        stock_events([(pid, levels) for pid, _, levels in changes], "committed"),
    )
    return reservation_json(updated, lines)


async def release(conn: asyncpg.Connection, reservation_id: uuid.UUID) -> dict[str, Any]:
    """Give the reserved stock back; idempotent; 409 once committed. An expired reservation
    becomes released too, so that a late commit cannot take stock for a given-up order."""
    row, lines = await repo.reservation(conn, reservation_id, for_update=True)
    if row is None:
        raise ReservationNotFound(f"No reservation {reservation_id}")
    if row["status"] == "committed":
        raise ReservationCommitted("This reservation is committed; cancel the order instead")
    if row["status"] == "expired":
        # The sweeper gave the stock back already; released, it can no longer be committed.
        updated = await repo.mark_released(conn, reservation_id)
        return reservation_json(updated, lines)
    if row["status"] != "active":
        return reservation_json(row, lines)
    changes: list[tuple[uuid.UUID, repo.Levels]] = []
    for line in lines:
        levels = await repo.unreserve(conn, line["product_id"], line["quantity"])
        if levels is not None:
            changes.append((line["product_id"], levels))
    await repo.record(conn, [], stock_events(changes, "released"))
    updated = await repo.mark_released(conn, reservation_id)
    return reservation_json(updated, lines)


async def return_stock(
    conn: asyncpg.Connection, order_id: uuid.UUID, lines: Iterable[Line]
) -> bool:
    """Put a cancelled order's stock back on hand, once per order; False when already done or
    when the order's reservation was never committed (nothing of it left the shelf)."""
    status = await repo.order_reservation_status(conn, order_id)
    if status is not None and status != "committed":
        log.warning("return_without_committed_reservation", order_id=str(order_id), status=status)
        return False
    if not await repo.insert_return(conn, order_id):
        return False
    for product_id, quantity in merge_lines(lines):
        levels = await repo.change_on_hand(conn, product_id, quantity)
        if levels is None:  # an unknown product: nothing to return to
            log.warning("return_unknown_product", product_id=str(product_id))
            continue
        change = movement(
            product_id, "return", quantity, "order cancelled", f"order:{order_id}", levels
        )
        await _moved(conn, change, "returned")
    return True


async def sweep_expired(conn: asyncpg.Connection, batch: int) -> int:
    """Release a batch of expired, uncommitted reservations; returns how many.

    ``FOR UPDATE SKIP LOCKED`` lets several instances sweep at once, and a reservation being
    committed right now is simply skipped.
    """
    ids = await repo.claim_expired(conn, batch)
    if not ids:
        return 0
    changes: list[tuple[uuid.UUID, repo.Levels]] = []
    for product_id, quantity in await repo.summed_lines(conn, ids):
        levels = await repo.unreserve(conn, product_id, quantity)
        if levels is not None:
            changes.append((product_id, levels))
    await repo.record(conn, [], stock_events(changes, "expired"))
    await repo.mark_expired(conn, ids)
    return len(ids)
