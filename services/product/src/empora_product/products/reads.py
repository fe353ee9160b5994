"""Public catalog reads: cached documents with live stock merged in, serialised once."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from empora_common.pagination import PageParams
from empora_product.cache import CatalogCache
from empora_product.documents import product_document, with_stock
from empora_product.products import repository as repo
from empora_product.products.errors import ProductNotFound
from empora_product.products.search import ListQuery
from empora_product.slugs import findable, parse_uuid


def _page(items: list[dict[str, Any]], params: PageParams, total: int) -> bytes:
    pages = (total + params.limit - 1) // params.limit if total else 0
    meta = {"page": params.page, "limit": params.limit, "total": total, "total_pages": pages}
    return orjson.dumps({"data": items, "meta": meta})


async def list_page(
    pool: asyncpg.Pool, cache: CatalogCache, query: ListQuery, params: PageParams
) -> bytes:
    """One page of active products as JSON bytes."""
    key = query.cache_key(params.page, params.limit) if query.cacheable else None
    generation: str | None = None
    if key is not None:
        cached, generation = await cache.get(key)
        if cached is not None:
            entry = orjson.loads(cached)
            items: list[dict[str, Any]] = entry["items"]
            levels = await repo.fetch_stock(pool, [item["id"] for item in items]) if items else {}
            for item in items:
                with_stock(item, *levels.get(item["id"], (0, 0)))
            return _page(items, params, entry["total"])
    rows, total = await repo.fetch_page(pool, query, params.limit, params.offset)
    documents = [product_document(row) for row in rows]
    if key is not None:
        await cache.set(
            generation, key, orjson.dumps({"items": documents, "total": total}).decode()
        )
    items = [
        with_stock(doc, row["on_hand"], row["reserved"])
        for doc, row in zip(documents, rows, strict=True)
    ]
    return _page(items, params, total)


async def detail(pool: asyncpg.Pool, cache: CatalogCache, id_or_slug: str) -> bytes:
    """One product by id or slug as JSON bytes; 404 when unknown."""
    if not findable(id_or_slug):
        raise ProductNotFound(f"No product {id_or_slug!r}")
    key = f"product:{id_or_slug}"
    cached, generation = await cache.get(key)
    if cached is not None:
        document: dict[str, Any] = orjson.loads(cached)
        levels = await repo.fetch_one_stock(pool, document["id"])
        return orjson.dumps(with_stock(document, *levels))
    row = await repo.fetch_detail(pool, parse_uuid(id_or_slug), id_or_slug)
    if row is None:
        raise ProductNotFound(f"No product {id_or_slug}")
    document = product_document(row)
    await cache.set(generation, key, orjson.dumps(document).decode())
    return orjson.dumps(with_stock(document, row["on_hand"], row["reserved"]))
