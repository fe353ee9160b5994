"""Load the demo catalog into the database: idempotent upserts by slug and SKU."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from redis.asyncio import Redis
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from empora_common.db import create_engine
from empora_product.cache import generation_key
from empora_product.models import category, product, stock, stock_movement
from empora_product.seed.catalog import Catalog, CategoryRow, ProductSpec, build_catalog
from empora_product.settings import ProductSettings

log = structlog.get_logger("empora.product.seed")

Progress = Callable[[int, int], None]

_BATCH = 25


async def catalog_is_empty(settings: ProductSettings) -> bool:
    """True when the catalog has no product at all (``empora up`` seeds it then)."""
    engine = create_engine(settings.database_url, pool_size=1, application_name="empora-seed")
    try:
        async with engine.connect() as conn:
            found = await conn.execute(sa.select(product.c.id).limit(1))
            return found.first() is None
    finally:
        await engine.dispose()


async def seed_catalog(settings: ProductSettings, progress: Progress | None = None) -> int:
    """Upsert the demo catalog (categories by slug, products by SKU); returns its size.

    Running it again changes nothing that matters: existing categories keep their place in
    the tree, existing products keep their slug and their stock.
    """
    catalog = build_catalog()
    engine = create_engine(settings.database_url, pool_size=1, application_name="empora-seed")
    try:
        async with engine.begin() as conn:
            category_ids = await _upsert_categories(conn, catalog.categories)
            await _upsert_products(conn, catalog, category_ids, progress, settings.store_currency)
    finally:
        await engine.dispose()
    await _invalidate_cache(settings)
    return len(catalog.products)


async def _upsert_categories(
    conn: AsyncConnection, rows: list[CategoryRow]
) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    paths: dict[str, tuple[str, int]] = {}
    for row in rows:  # parents come before their children
        new_id = uuid.uuid4()
        path, depth = f"/{new_id}/", 0
        if row.parent_slug is not None:
            parent_path, parent_depth = paths[row.parent_slug]
            path, depth = f"{parent_path}{new_id}/", parent_depth + 1
        result = await conn.execute(
            insert(category)
            .values(
                id=new_id,
                name=row.name,
                slug=row.slug,
                parent_id=ids.get(row.parent_slug or ""),
                path=path,
                depth=depth,
            )
            .on_conflict_do_update(index_elements=[category.c.slug], set_={"name": row.name})
            .returning(category.c.id, category.c.path, category.c.depth)
        )
        saved = result.one()
        ids[row.slug] = saved.id
        paths[row.slug] = (saved.path, saved.depth)
    return ids


async def _upsert_products(
    conn: AsyncConnection,
    catalog: Catalog,
    category_ids: dict[str, uuid.UUID],
    progress: Progress | None,
    currency: str,
) -> None:
    total = len(catalog.products)
    # A slug an admin already gave to another product is not taken from it.
    existing = await conn.execute(sa.select(product.c.slug, product.c.sku))
    owner = {r.slug: r.sku for r in existing}
    now = datetime.now(UTC)
    if progress is not None:
        progress(0, total)
    for start in range(0, total, _BATCH):
        batch = catalog.products[start : start + _BATCH]
        values = [_product_values(spec, category_ids, owner, now, currency) for spec in batch]
        statement = insert(product).values(values)
        saved = await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[product.c.sku],
                set_={
                    "name": statement.excluded.name,
                    "description": statement.excluded.description,
                    "price_amount": statement.excluded.price_amount,
                    "currency": statement.excluded.currency,
                    "category_id": statement.excluded.category_id,
                    "images": statement.excluded.images,
                    "attributes": statement.excluded.attributes,
                    "updated_at": sa.func.now(),
                },
            ).returning(product.c.id, product.c.sku)
        )
        ids = {r.sku: r.id for r in saved}
        stock_rows = [
            {"product_id": ids[spec.sku], "on_hand": spec.stock, "reserved": 0} for spec in batch
        ]
        created = await conn.execute(
            insert(stock)
            .values(stock_rows)
            .on_conflict_do_nothing(index_elements=[stock.c.product_id])
            .returning(stock.c.product_id, stock.c.on_hand)
        )
        movements = [
            {
                "product_id": r.product_id,
                "kind": "initial",
                "delta": r.on_hand,
                "reason": "demo catalog",
                "reference": "seed",
                "on_hand_after": r.on_hand,
                "reserved_after": 0,
            }
            for r in created
            if r.on_hand
        ]
        if movements:
            await conn.execute(stock_movement.insert(), movements)
        if progress is not None:
            progress(min(start + _BATCH, total), total)


def _product_values(
    spec: ProductSpec,
    category_ids: dict[str, uuid.UUID],
    owner: dict[str, str],
    now: datetime,
    currency: str,
) -> dict[str, Any]:
    slug = spec.slug
    if owner.get(slug, spec.sku) != spec.sku:
        slug = f"{slug}-{spec.sku.lower()}"
    return {
        "sku": spec.sku,
        "slug": slug,
        "name": spec.name,
        "description": spec.description,
        "price_amount": spec.price_amount,
        "currency": currency,
        "category_id": category_ids[spec.category_slug],
        "images": spec.images,
        "attributes": spec.attributes,
        "is_active": True,
        "created_at": now - timedelta(minutes=spec.age_minutes),
        "updated_at": now,
    }


async def _invalidate_cache(settings: ProductSettings) -> None:
    """Running services must not serve pages cached before the seed."""
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await redis.incr(generation_key(settings.redis_prefix))
    except Exception as exc:  # no Redis: entries expire by themselves
        log.warning("seed_cache_invalidation_failed", error=str(exc))
    finally:
        await redis.aclose()
