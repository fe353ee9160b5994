"""Request dependencies of the product service: read pool, cache, catalog unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from empora_product.cache import CatalogCache, catalog_changed
from empora_product.settings import ProductSettings


def get_read_pool(request: Request) -> asyncpg.Pool:
    """The asyncpg pool that serves public catalog reads (no ORM on the hot path)."""
    pool: asyncpg.Pool = request.state.read_pool
    return pool


def get_cache(request: Request) -> CatalogCache:
    """The catalog cache."""
    cache: CatalogCache = request.state.catalog_cache
    return cache


def get_settings(request: Request) -> ProductSettings:
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


ReadPool = Annotated[asyncpg.Pool, Depends(get_read_pool)]
Cache = Annotated[CatalogCache, Depends(get_cache)]
Settings = Annotated[ProductSettings, Depends(get_settings)]
# "function" scope: commit (and invalidate) before the response is sent.
CatalogSession = Annotated[AsyncSession, Depends(catalog_unit_of_work, scope="function")]
