"""Public catalog reads: cached serialised documents with live stock appended as bytes.

A cache entry holds each product serialised once (``documents.fragment``: no ``stock``, no
closing brace), one per line (orjson never writes a raw newline), after a header with the
ids and active flags. A cached read fetches the live ``available`` figures in one statement
and joins the fragments around them: no JSON parsing, no re-serialisation, no models.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import orjson

from empora_common.pagination import PageParams
from empora_product.cache import CatalogCache
from empora_product.documents import available_of, fragment, product_document, stock_tail
from empora_product.products import repository as repo
from empora_product.products.errors import ProductNotFound
from empora_product.products.search import ListQuery
from empora_product.slugs import findable, parse_uuid

# The entry layout: bump it when it changes, so no reader meets an entry it cannot read.
_FORMAT = "f1"


def _page(
    fragments: Sequence[bytes],
    active: Sequence[bool],
    available: Sequence[int],
    params: PageParams,
    total: int,
) -> bytes:
    pages = (total + params.limit - 1) // params.limit if total else 0
    meta = {"page": params.page, "limit": params.limit, "total": total, "total_pages": pages}
    items = b",".join(
        [
            body + stock_tail(is_active, level)
            for body, is_active, level in zip(fragments, active, available, strict=True)
        ]
    )
    return b'{"data":[' + items + b'],"meta":' + orjson.dumps(meta) + b"}"


def _list_entry(ids: list[str], active: list[bool], fragments: list[bytes], total: int) -> str:
    flags = "".join("1" if a else "0" for a in active)
    body = b"\n".join(fragments).decode()
    return f"{total}\n{','.join(ids)}\n{flags}\n{body}"


async def list_page(
    pool: asyncpg.Pool, cache: CatalogCache, query: ListQuery, params: PageParams
) -> bytes:
    """One page of active products as JSON bytes."""
    key = f"{_FORMAT}:{query.cache_key(params.page, params.limit)}" if query.cacheable else None
    generation: str | None = None
    if key is not None:
        cached, generation = await cache.get(key)
        if cached is not None:
            total, id_line, flags, body = cached.split("\n", 3)
            if not id_line:
                return _page([], [], [], params, int(total))
            ids = id_line.split(",")
            available = await repo.fetch_available(pool, ids)
            active = [flag == "1" for flag in flags]
            return _page(body.encode().split(b"\n"), active, available, params, int(total))
    rows, count = await repo.fetch_page(pool, query, params.limit, params.offset)
    documents = [product_document(row) for row in rows]
    fragments = [fragment(document) for document in documents]
    active = [bool(row["is_active"]) for row in rows]
    if key is not None:
        ids = [document["id"] for document in documents]
        await cache.set(generation, key, _list_entry(ids, active, fragments, count))
    available = [available_of(row["on_hand"], row["reserved"]) for row in rows]
    return _page(fragments, active, available, params, count)


async def detail(pool: asyncpg.Pool, cache: CatalogCache, id_or_slug: str) -> bytes:
    """One product by id or slug as JSON bytes; 404 when unknown."""
    if not findable(id_or_slug):
        raise ProductNotFound(f"No product {id_or_slug!r}")
    key = f"{_FORMAT}:product:{id_or_slug}"
    cached, generation = await cache.get(key)
    if cached is not None:
        product_id, flag, cached_body = cached.split("\n", 2)
        available = await repo.fetch_one_available(pool, product_id)
        return cached_body.encode() + stock_tail(flag == "1", available)
    row = await repo.fetch_detail(pool, parse_uuid(id_or_slug), id_or_slug)
    if row is None:
        raise ProductNotFound(f"No product {id_or_slug}")
    document = product_document(row)
    body = fragment(document)
    is_active = bool(row["is_active"])
    await cache.set(
        generation, key, f"{document['id']}\n{'1' if is_active else '0'}\n{body.decode()}"
    )
    return body + stock_tail(is_active, available_of(row["on_hand"], row["reserved"]))
