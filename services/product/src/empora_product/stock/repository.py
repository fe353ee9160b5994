"""All SQL of the stock slice, in plain SQL on an asyncpg connection.

Stock sits on the checkout's hot path (a reservation and its commit per order), where the ORM
cost more CPU than the database did: a stock update built by SQLAlchemy per call took ~0.9 ms
of CPU here, prebuilt ~0.36 ms, plain asyncpg ~0.25 ms, and each statement of the reservation
path went through the session's machinery. So every statement here is a constant text that
asyncpg prepares once per connection, and the reservation path writes what belongs together in
one statement (the reservation with the products' read, the lines with their events, the
movements with the events and the new status).

Every stock change is one conditional UPDATE on one row, so no code path can oversell; the
table's CHECK constraints are the last line of defence.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from empora_common.messaging.outbox import notify_channel, outbox_params
from empora_common.messaging.outbox import outbox_rows_sql as _outbox_rows_sql
from empora_product.models import stock

Levels = tuple[int, int]  # (on_hand, reserved)

SCHEMA = stock.schema or "product"
_CHANNEL = notify_channel(SCHEMA)
_RESERVATION_COLUMNS = (
    "id, order_id, status, expires_at, created_at, updated_at, committed_at, released_at"
)


def _levels(row: asyncpg.Record | None) -> Levels | None:
    return (int(row[0]), int(row[1])) if row is not None else None


def _outbox_cte(first: int) -> str:
    return f"events AS ({_outbox_rows_sql(SCHEMA, first)})"


# --- stock rows -------------------------------------------------------------------------

_ENSURE_ROW = """
INSERT INTO product.stock (product_id, on_hand, reserved) VALUES ($1, $2, 0)
ON CONFLICT (product_id) DO NOTHING
"""
_LEVELS = "SELECT on_hand, reserved FROM product.stock WHERE product_id = $1"
_LEVELS_FOR_UPDATE = _LEVELS + " FOR UPDATE"
_RETURNING = " RETURNING on_hand, reserved"
_RESERVE = (
    "UPDATE product.stock SET reserved = reserved + $2, updated_at = now()"
    " WHERE product_id = $1 AND on_hand - reserved >= $2" + _RETURNING
)
_UNRESERVE = (
    "UPDATE product.stock SET reserved = reserved - $2, updated_at = now()"
    " WHERE product_id = $1 AND reserved >= $2" + _RETURNING
)
_CONSUME_RESERVED = (
    "UPDATE product.stock SET on_hand = on_hand - $2, reserved = reserved - $2,"
    " updated_at = now() WHERE product_id = $1 AND reserved >= $2" + _RETURNING
)
_CONSUME_AVAILABLE = (
    "UPDATE product.stock SET on_hand = on_hand - $2, updated_at = now()"
    " WHERE product_id = $1 AND on_hand - reserved >= $2" + _RETURNING
)
_SET_ON_HAND = (
    "UPDATE product.stock SET on_hand = $2, updated_at = now()"
    " WHERE product_id = $1 AND reserved <= $2" + _RETURNING
)
_CHANGE_ON_HAND = (  # $2 is the signed delta
    "UPDATE product.stock SET on_hand = on_hand + $2, updated_at = now()"
    " WHERE product_id = $1 AND on_hand + $2 >= reserved" + _RETURNING
)
_ADJUST_ON_HAND = _CHANGE_ON_HAND.replace(
    " WHERE product_id = $1 AND", " WHERE product_id = $1 AND on_hand + $2 <= $3 AND"
)
_AVAILABLE_OF = (
    "SELECT product_id, on_hand - reserved FROM product.stock WHERE product_id = ANY($1::uuid[])"
)


async def ensure_row(conn: asyncpg.Connection, product_id: uuid.UUID, on_hand: int = 0) -> None:
    """Create the stock row of a product if it has none."""
    await conn.execute(_ENSURE_ROW, product_id, on_hand)


async def levels(
    conn: asyncpg.Connection, product_id: uuid.UUID, *, for_update: bool = False
) -> Levels | None:
    """``(on_hand, reserved)``; locked for this transaction when asked."""
    return _levels(await conn.fetchrow(_LEVELS_FOR_UPDATE if for_update else _LEVELS, product_id))


async def set_on_hand(
    conn: asyncpg.Connection, product_id: uuid.UUID, quantity: int
) -> Levels | None:
    """``on_hand = quantity`` unless that is below ``reserved``."""
    return _levels(await conn.fetchrow(_SET_ON_HAND, product_id, quantity))


async def change_on_hand(
    conn: asyncpg.Connection, product_id: uuid.UUID, delta: int
) -> Levels | None:
    """``on_hand += delta`` unless the result would fall below ``reserved``."""
    return _levels(await conn.fetchrow(_CHANGE_ON_HAND, product_id, delta))


async def adjust_on_hand(
    conn: asyncpg.Connection, product_id: uuid.UUID, delta: int, ceiling: int
) -> Levels | None:
    """``on_hand += delta`` unless the result would fall below ``reserved`` or rise above
    ``ceiling``."""
    return _levels(await conn.fetchrow(_ADJUST_ON_HAND, product_id, delta, ceiling))


async def reserve(conn: asyncpg.Connection, product_id: uuid.UUID, quantity: int) -> Levels | None:
    """``reserved += quantity`` only while that much is available (no oversell)."""
    return _levels(await conn.fetchrow(_RESERVE, product_id, quantity))


async def unreserve(
    conn: asyncpg.Connection, product_id: uuid.UUID, quantity: int
) -> Levels | None:
    """``reserved -= quantity`` (a release)."""
    return _levels(await conn.fetchrow(_UNRESERVE, product_id, quantity))


async def consume_reserved(
    conn: asyncpg.Connection, product_id: uuid.UUID, quantity: int
) -> Levels | None:
    """A commit of reserved stock: it leaves ``on_hand`` and ``reserved``."""
    return _levels(await conn.fetchrow(_CONSUME_RESERVED, product_id, quantity))


async def consume_available(
    conn: asyncpg.Connection, product_id: uuid.UUID, quantity: int
) -> Levels | None:
    """A commit without a live reservation: takes from what is available, if enough."""
    return _levels(await conn.fetchrow(_CONSUME_AVAILABLE, product_id, quantity))


async def available_of(conn: asyncpg.Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """``{product id: available}`` (unlocked; for error reports)."""
    rows = await conn.fetch(_AVAILABLE_OF, list(ids))
    return {r[0]: max(int(r[1]), 0) for r in rows}


# --- movements and events ---------------------------------------------------------------

_MOVEMENT_COLUMNS = (
    "product_id, kind, delta, reason, reference, on_hand_after, reserved_after, actor_id"
)


def _movements_cte(first: int) -> str:
    p = [f"${first + n}" for n in range(8)]
    return (
        f"moved AS (INSERT INTO product.stock_movement ({_MOVEMENT_COLUMNS})"
        f" SELECT * FROM unnest({p[0]}::uuid[], {p[1]}::text[], {p[2]}::bigint[],"
        f" {p[3]}::text[], {p[4]}::text[], {p[5]}::bigint[], {p[6]}::bigint[],"
        f" {p[7]}::uuid[]))"
    )


def movement_params(movements: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The arrays of ``_movements_cte`` for some movements (dicts of its columns)."""
    return [[m.get(column) for m in movements] for column in _MOVEMENT_COLUMNS.split(", ")]


# A data-modifying CTE runs whether or not the query reads it.
_RECORD = (
    f"WITH {_movements_cte(2)}, {_outbox_cte(10)} SELECT pg_notify($1, '') FROM events LIMIT 1"
)
_EVENTS = f"WITH {_outbox_cte(2)} SELECT pg_notify($1, '') FROM events LIMIT 1"


async def record(
    conn: asyncpg.Connection,
    movements: Sequence[dict[str, Any]],
    events: list[dict[str, Any]],
) -> None:
    """Write movements (of ``on_hand``) and outbox events in one statement."""
    if movements:
        await conn.execute(_RECORD, _CHANNEL, *movement_params(movements), *outbox_params(events))
    elif events:
        await conn.execute(_EVENTS, _CHANNEL, *outbox_params(events))


_MOVEMENTS = """
SELECT id, product_id, kind, delta, reason, reference, on_hand_after, reserved_after, actor_id,
       created_at, count(*) OVER () AS total
FROM product.stock_movement WHERE product_id = $1
ORDER BY id DESC LIMIT $2 OFFSET $3
"""
_MOVEMENT_COUNT = "SELECT count(*) FROM product.stock_movement WHERE product_id = $1"


async def movements(
    conn: asyncpg.Connection, product_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of a product's movements, newest first, and their total."""
    rows = await conn.fetch(_MOVEMENTS, product_id, limit, offset)
    if rows:
        return list(rows), int(rows[0]["total"])
    # Past the last page (or none at all): the total still counts.
    return [], int(await conn.fetchval(_MOVEMENT_COUNT, product_id))


# --- reservations -----------------------------------------------------------------------

_CREATE_RESERVATION = """
WITH created AS (
    INSERT INTO product.reservation (id, order_id, status, expires_at)
    VALUES ($1, $2, 'active', now() + make_interval(secs => $3))
    ON CONFLICT (id) DO NOTHING
    RETURNING expires_at
)
SELECT c.expires_at, p.id, p.sku, p.name, p.price_amount, p.currency, p.is_active
FROM (SELECT 1) AS one
LEFT JOIN created AS c ON true
LEFT JOIN product.product AS p ON p.id = ANY($4::uuid[])
"""


async def create_reservation(
    conn: asyncpg.Connection,
    reservation_id: uuid.UUID,
    order_id: uuid.UUID | None,
    ttl: int,
    product_ids: Sequence[uuid.UUID],
) -> tuple[datetime | None, dict[uuid.UUID, asyncpg.Record]]:
    """Create an active reservation and read its products (name, SKU, price, status):
    ``(expiry, {id: product})``; the expiry is None when that id already exists."""
    rows = await conn.fetch(_CREATE_RESERVATION, reservation_id, order_id, ttl, list(product_ids))
    return rows[0]["expires_at"], {r["id"]: r for r in rows if r["id"] is not None}


# No NOTIFY here: the reservation's commit (or release) follows within the checkout and wakes
# the relay, which then takes both events in one batch instead of waking twice per order; a
# reservation whose checkout died is relayed by the relay's polling (OUTBOX_POLL_INTERVAL).
_STORE_LINES = (
    "WITH lines AS (INSERT INTO product.reservation_line"
    " (reservation_id, product_id, quantity, sku, name, unit_price_amount, currency)"
    " SELECT $1, * FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[], $6::bigint[],"
    f" $7::text[])), {_outbox_cte(8)}"
    " SELECT count(*) FROM events"
)
_LINE_COLUMNS = ("product_id", "quantity", "sku", "name", "unit_price_amount", "currency")


async def store_lines(
    conn: asyncpg.Connection,
    reservation_id: uuid.UUID,
    lines: Sequence[dict[str, Any]],
    events: list[dict[str, Any]],
) -> None:
    """Store the reserved lines with their price snapshot, and their events."""
    columns = [[line[c] for line in lines] for c in _LINE_COLUMNS]
    await conn.execute(_STORE_LINES, reservation_id, *columns, *outbox_params(events))


_RESERVATION_WITH_LINES = f"""
SELECT r.{_RESERVATION_COLUMNS.replace(", ", ", r.")},
       l.product_id, l.quantity, l.sku, l.name, l.unit_price_amount, l.currency
FROM product.reservation AS r
LEFT JOIN product.reservation_line AS l ON l.reservation_id = r.id
WHERE r.id = $1
ORDER BY l.product_id
"""
_RESERVATION_WITH_LINES_FOR_UPDATE = _RESERVATION_WITH_LINES + " FOR UPDATE OF r"


async def reservation(
    conn: asyncpg.Connection, reservation_id: uuid.UUID, *, for_update: bool = False
) -> tuple[asyncpg.Record | None, list[asyncpg.Record]]:
    """A reservation (locked when asked) and its lines in product-id order (the lock order):
    ``(None, [])`` when there is none."""
    statement = _RESERVATION_WITH_LINES_FOR_UPDATE if for_update else _RESERVATION_WITH_LINES
    rows = await conn.fetch(statement, reservation_id)
    if not rows:
        return None, []
    return rows[0], [r for r in rows if r["product_id"] is not None]


_RELEASED = (
    "UPDATE product.reservation SET status = 'released', updated_at = now(),"
    f" released_at = now() WHERE id = $1 RETURNING {_RESERVATION_COLUMNS}"
)


async def mark_released(conn: asyncpg.Connection, reservation_id: uuid.UUID) -> asyncpg.Record:
    """Move a reservation to ``released`` (``mark_committed`` and ``mark_expired`` do the
    other ends); returns it."""
    row: asyncpg.Record = await conn.fetchrow(_RELEASED, reservation_id)
    return row


_COMMITTED = (
    f"WITH {_movements_cte(3)}, {_outbox_cte(11)},"
    " committed AS (UPDATE product.reservation SET status = 'committed', updated_at = now(),"
    f" committed_at = now() WHERE id = $2 RETURNING {_RESERVATION_COLUMNS})"
    " SELECT *, (SELECT pg_notify($1, '') FROM events LIMIT 1) AS notified FROM committed"
)


async def mark_committed(
    conn: asyncpg.Connection,
    reservation_id: uuid.UUID,
    movements: Sequence[dict[str, Any]],
    events: list[dict[str, Any]],
) -> asyncpg.Record:
    """The reservation ``committed``, with the movements of its stock and their events, in one
    statement; returns the reservation."""
    row: asyncpg.Record = await conn.fetchrow(
        _COMMITTED,
        _CHANNEL,
        reservation_id,
        *movement_params(movements),
        *outbox_params(events),
    )
    return row


_ORDER_RESERVATION_STATUSES = (
    "SELECT status FROM product.reservation WHERE order_id = $1 ORDER BY created_at DESC"
)


async def order_reservation_status(conn: asyncpg.Connection, order_id: uuid.UUID) -> str | None:
    """The status of an order's reservation: ``committed`` if any of them is, else the newest
    one's; None when the order reserved nothing here."""
    statuses = [r[0] for r in await conn.fetch(_ORDER_RESERVATION_STATUSES, order_id)]
    if not statuses:
        return None
    return "committed" if "committed" in statuses else statuses[0]


_CLAIM_EXPIRED = """
SELECT id FROM product.reservation
WHERE status = 'active' AND expires_at < now()
ORDER BY expires_at LIMIT $1
FOR UPDATE SKIP LOCKED
"""
_SUMMED_LINES = """
SELECT product_id, sum(quantity) FROM product.reservation_line
WHERE reservation_id = ANY($1::uuid[])
GROUP BY product_id ORDER BY product_id
"""
_MARK_EXPIRED = """
UPDATE product.reservation SET status = 'expired', released_at = now(), updated_at = now()
WHERE id = ANY($1::uuid[])
"""


async def claim_expired(conn: asyncpg.Connection, batch: int) -> list[uuid.UUID]:
    """Lock a batch of expired active reservations, skipping ones another worker holds."""
    return [r[0] for r in await conn.fetch(_CLAIM_EXPIRED, batch)]


async def summed_lines(
    conn: asyncpg.Connection, reservation_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, int]]:
    """``[(product id, total quantity)]`` of several reservations, in product-id order."""
    rows = await conn.fetch(_SUMMED_LINES, list(reservation_ids))
    return [(r[0], int(r[1])) for r in rows]


async def mark_expired(conn: asyncpg.Connection, reservation_ids: Iterable[uuid.UUID]) -> None:
    """Set claimed reservations to ``expired``."""
    await conn.execute(_MARK_EXPIRED, list(reservation_ids))


_INSERT_RETURN = """
INSERT INTO product.stock_return (order_id) VALUES ($1)
ON CONFLICT (order_id) DO NOTHING RETURNING order_id
"""


async def insert_return(conn: asyncpg.Connection, order_id: uuid.UUID) -> bool:
    """Remember that an order's stock came back; False when it already had."""
    return await conn.fetchval(_INSERT_RETURN, order_id) is not None
