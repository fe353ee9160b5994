"""The real platform for the order service's integration tests: product ×2, cart, order ×2 as
OS processes on a database built by the product and order migrations, with their own AMQP and
Redis prefixes (so no other test's events reach their consumers)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from empora_common.db import create_engine
from empora_common.testing.client import client_session
from empora_common.testing.infra import (
    TestInfra,
    drop_database,
    migrated_database,
    remove_amqp_names,
)
from empora_common.testing.processes import ServiceProcess
from empora_common.testing.tokens import TestSigner

sys.path.insert(0, str(Path(__file__).parent))
from order_platform_kit import CONSUMER_QUEUES, Platform


@pytest.fixture(scope="module")
async def platform_database(infra: TestInfra) -> AsyncIterator[str]:
    name, url = await migrated_database(infra.admin_database_url, ("product", "order"))
    yield url
    await drop_database(infra.admin_database_url, name)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("platform-logs")


@pytest.fixture(scope="module")
async def platform(
    base_env: dict[str, Any],
    platform_database: str,
    prefix: str,
    signer: TestSigner,
    infra: TestInfra,
    log_dir: Path,
) -> AsyncIterator[Platform]:
    """product ×2, cart ×1, order ×2, each a real process."""
    own_prefix = f"{prefix}plat{uuid.uuid4().hex[:4]}."
    env = {
        **base_env,
        "DATABASE_URL": platform_database,
        "AMQP_PREFIX": own_prefix,
        "REDIS_PREFIX": own_prefix,
        "DB_POOL_SIZE": 5,
        "RESERVATION_SWEEP_INTERVAL": 1,
        "RECONCILER_INTERVAL": 1,
        # Generous on a loaded machine: a slow checkout must not look like a crashed one.
        "CHECKOUT_LEASE_SECONDS": 60,
        "UPSTREAM_TIMEOUT_SECONDS": 20,
        "LOG_JSON": "true",
    }
    started: list[ServiceProcess] = []
    engine = create_engine(platform_database, pool_size=3)
    try:
        products = [ServiceProcess("product", env, log_dir=log_dir).start() for _ in range(2)]
        started += products
        await asyncio.gather(*(p.wait_ready(60) for p in products))
        env["PRODUCT_URL"] = products[0].url
        cart = ServiceProcess("cart", env, log_dir=log_dir).start()
        started.append(cart)
        await cart.wait_ready(60)
        env["CART_URL"] = cart.url
        orders = [
            ServiceProcess("order", {**env, "PRODUCT_URL": p.url}, log_dir=log_dir).start()
            for p in products
        ]
        started += orders
        await asyncio.gather(*(o.wait_ready(60) for o in orders))
        async with client_session(timeout=aiohttp.ClientTimeout(total=60)) as http:
            platform = Platform(env, products, cart, orders, http, signer, engine, log_dir)
            yield platform
            started += platform.extra
    finally:
        for proc in started:
            proc.stop()
        await engine.dispose()
        await remove_amqp_names(infra.amqp_url, own_prefix, CONSUMER_QUEUES)
