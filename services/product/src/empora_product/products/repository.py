"""All SQL of the products slice: hot reads on asyncpg, writes through the unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from empora_product.models import category, product
from empora_product.products.search import (
    PRODUCT_COLUMNS,
    ListQuery,
    build_count_statement,
    build_list_statement,
)

_DETAIL_BY_ID = (
    f"SELECT {PRODUCT_COLUMNS}, coalesce(s.on_hand, 0) AS on_hand,"
    " coalesce(s.reserved, 0) AS reserved FROM product.product p"
    " LEFT JOIN product.stock s ON s.product_id = p.id WHERE p.id = $1::uuid"
)
_DETAIL_BY_SLUG = _DETAIL_BY_ID.replace("p.id = $1::uuid", "p.slug = $1::text")
# Live stock for cached documents: one row, the ``available`` figures in the order asked.
_AVAILABLE = (
    "SELECT array_agg(greatest(coalesce(s.on_hand - s.reserved, 0), 0) ORDER BY u.n)"
    " FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)"
    " LEFT JOIN product.stock s ON s.product_id = u.id"
)
_ONE_AVAILABLE = (
    "SELECT greatest(on_hand - reserved, 0) FROM product.stock WHERE product_id = $1::uuid"
)
_LOOKUP = (
    "SELECT p.id, p.sku, p.slug, p.name, p.price_amount, p.currency, p.is_active,"
    " coalesce(s.on_hand, 0) AS on_hand, coalesce(s.reserved, 0) AS reserved"
    " FROM product.product p LEFT JOIN product.stock s ON s.product_id = p.id"
    " WHERE p.id = ANY($1::uuid[])"
)
_ANY_PRODUCT = "SELECT EXISTS (SELECT 1 FROM product.product)"


async def fetch_page(
    pool: asyncpg.Pool, query: ListQuery, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """One page of a listing and the total."""
    statement = build_list_statement(query, limit, offset)
    async with pool.acquire() as conn:
        rows = await conn.fetch(statement.sql, *statement.args)
        if rows:
            return rows, int(rows[0]["total"])
        if offset == 0:
            return [], 0
        count = build_count_statement(query)
        total = await conn.fetchval(count.sql, *count.args)
    return [], int(total)


async def fetch_detail(pool: asyncpg.Pool, product_id: uuid.UUID | None, slug: str) -> Any:
    """One product (any status) with its stock, by id or slug; None when unknown."""
    if product_id is not None:
        return await pool.fetchrow(_DETAIL_BY_ID, product_id)
    return await pool.fetchrow(_DETAIL_BY_SLUG, slug)


async def fetch_available(pool: asyncpg.Pool, ids: Sequence[str]) -> list[int]:
    """``available`` of each product, in the order of ``ids`` (0 without a stock row)."""
    levels: list[int] | None = await pool.fetchval(_AVAILABLE, ids)
    return levels or []


async def fetch_one_available(pool: asyncpg.Pool, product_id: str) -> int:
    """``available`` of one product (0 when it has no stock row)."""
    available: int | None = await pool.fetchval(_ONE_AVAILABLE, product_id)
    return available or 0


async def lookup(pool: asyncpg.Pool, ids: Sequence[uuid.UUID]) -> list[asyncpg.Record]:
    """Products (any status) with stock figures, for many ids at once."""
    return list(await pool.fetch(_LOOKUP, list(ids)))


async def catalog_has_products(pool: asyncpg.Pool) -> bool:
    """Whether any product exists."""
    return bool(await pool.fetchval(_ANY_PRODUCT))


# --- writes (SQLAlchemy, inside the request's unit of work) -------------------------------


async def taken_slugs(session: AsyncSession, base: str) -> set[str]:
    """Slugs equal to ``base`` or ``base-<n>`` that are in use."""
    rows = await session.execute(
        sa.select(product.c.slug).where(
            sa.or_(product.c.slug == base, product.c.slug.startswith(base + "-"))
        )
    )
    return set(rows.scalars())


async def category_exists(session: AsyncSession, category_id: uuid.UUID) -> bool:
    """Whether a category exists."""
    found = await session.execute(sa.select(category.c.id).where(category.c.id == category_id))
    return found.first() is not None


_RETURNING = [c for c in product.c if c.name != "search_vector"]


async def insert_product(session: AsyncSession, values: dict[str, Any]) -> RowMapping:
    """Insert a product; returns its row."""
    result = await session.execute(product.insert().values(**values).returning(*_RETURNING))
    return result.mappings().one()


async def get_for_update(
    session: AsyncSession, product_id: uuid.UUID | None, slug: str
) -> RowMapping | None:
    """A product row, locked for this transaction.

    ``FOR NO KEY UPDATE``: it still lets stock movements and other rows referencing the product
    take their foreign-key share lock, so an admin edit never deadlocks with a checkout.
    """
    where = product.c.id == product_id if product_id is not None else product.c.slug == slug
    result = await session.execute(
        sa.select(*_RETURNING).where(where).with_for_update(key_share=True)
    )
    return result.mappings().first()


async def update_product(
    session: AsyncSession, product_id: uuid.UUID, values: dict[str, Any]
) -> RowMapping:
    """Update a product; returns the new row."""
    result = await session.execute(
        product.update()
        .where(product.c.id == product_id)
        .values(**values, updated_at=sa.func.now())
        .returning(*_RETURNING)
    )
    return result.mappings().one()
