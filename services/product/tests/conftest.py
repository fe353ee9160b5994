"""Fixtures of the product service tests: a migrated database, one real server, clean state."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from empora_common.db import create_engine, create_sessionmaker
from empora_common.testing.client import client_session
from empora_common.testing.infra import (
    AppServer,
    TestInfra,
    drop_database,
    migrated_database,
    serve,
    truncate_schema,
)
from empora_common.testing.tokens import TestSigner
from empora_product.app import create_app
from empora_product.cache import generation_key
from empora_product.consumers import QUEUE
from empora_product.settings import ProductSettings

sys.path.insert(0, str(Path(__file__).parent))
from product_api import Api


@pytest.fixture(scope="session")
async def database_url(infra: TestInfra) -> AsyncIterator[str]:
    """A database of this session built by the product service's real migrations only."""
    name, url = await migrated_database(infra.admin_database_url, ("product",))
    yield url
    await drop_database(infra.admin_database_url, name)


@pytest.fixture(scope="session")
def base_env(base_env: dict[str, Any], database_url: str) -> dict[str, Any]:
    """The shared settings, pointed at this folder's database (also in a combined session)."""
    return {**base_env, "DATABASE_URL": database_url}


@pytest.fixture(scope="session")
def settings(base_env: dict[str, Any]) -> ProductSettings:
    """The service's settings for this run (fast sweeper, per-run prefixes)."""
    return ProductSettings(
        **base_env,
        RESERVATION_SWEEP_INTERVAL=0.2,
        DB_POOL_SIZE=10,
    )


@pytest.fixture(scope="session")
async def server(settings: ProductSettings, infra: TestInfra) -> AsyncIterator[AppServer]:
    """The product service on a real uvicorn server, for the whole session."""
    async with serve(create_app(settings)) as running:
        yield running
    # Queues are durable: remove this run's so the shared broker does not collect them.
    with contextlib.suppress(Exception):
        connection = await aio_pika.connect(infra.amqp_url)
        async with connection:
            channel = await connection.channel()
            for name in (f"{settings.amqp_prefix}{QUEUE}", f"{settings.amqp_prefix}{QUEUE}.dlq"):
                await channel.queue_delete(name)


@pytest.fixture(scope="session")
async def redis(infra: TestInfra, settings: ProductSettings) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url, decode_responses=True)
    yield client
    # Leave nothing of this run in the shared Redis.
    keys = [k async for k in client.scan_iter(f"{settings.redis_prefix}product:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def clean(database_url: str, redis: Redis, settings: ProductSettings) -> None:
    """Every test starts with an empty product schema and an invalidated cache."""
    await truncate_schema(database_url, "product")
    await redis.incr(generation_key(settings.redis_prefix))


@pytest.fixture
async def api(server: AppServer, signer: TestSigner, clean: None) -> AsyncIterator[Api]:
    """A client of the running service, on a clean database."""
    async with client_session(base_url=server.url) as session:
        yield Api(session, signer)
