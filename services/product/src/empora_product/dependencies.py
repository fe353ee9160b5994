"""Request dependencies of the product service: asyncpg pool, cache, catalog unit of work.

All ``async def``: FastAPI runs a plain ``def`` dependency in a thread pool, which costs more
than the lookup itself on the hot read path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from empora_common.pagination import MAX_LIMIT, PageParams, page_request
from empora_product.cache import CatalogCache, catalog_changed
from empora_product.settings import ProductSettings


async def get_pool(request: Request) -> asyncpg.Pool:
    """The asyncpg pool of the hot paths: public catalog reads and the reservations."""
    pool: asyncpg.Pool = request.state.pool
    return pool


async def get_cache(request: Request) -> CatalogCache:
    """The catalog cache."""
    cache: CatalogCache = request.state.catalog_cache
    return cache


async def get_settings(request: Request) -> ProductSettings:
    """The service's settings."""
    settings: ProductSettings = request.state.settings
    return settings


async def catalog_unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work; after a commit that changed the catalog, bump the cache."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        if catalog_changed(session):
            cache: CatalogCache = request.state.catalog_cache
            await cache.invalidate()


async def pagination(
    page: Annotated[int, Query(ge=1, description="1-based page number")] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 20,
) -> PageParams:
    """``?page&limit`` (the shared rules), resolved without a thread hop."""
    return page_request(page, limit)


Pagination = Annotated[PageParams, Depends(pagination)]
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
Cache = Annotated[CatalogCache, Depends(get_cache)]
Settings = Annotated[ProductSettings, Depends(get_settings)]
# "function" scope: commit (and invalidate) before the response is sent.
CatalogSession = Annotated[AsyncSession, Depends(catalog_unit_of_work, scope="function")]
