"""Fixtures of the order service tests: a migrated database, stand-ins of the product and cart
services served over real HTTP, the order service on a real server, clean state per test."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from empora_common.db import create_engine, create_sessionmaker
from empora_common.http import InternalClient
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
from empora_order.app import create_app
from empora_order.checkout.clients import CartClient, ProductClient
from empora_order.checkout.service import CheckoutService
from empora_order.orders.service import Cancellations
from empora_order.payments.test_provider import TestProvider
from empora_order.settings import OrderSettings

sys.path.insert(0, str(Path(__file__).parent))
from order_testkit import INTERNAL_TOKEN, Api, CartStandIn, ProductStandIn


@pytest.fixture(scope="session")
async def database_url(infra: TestInfra) -> AsyncIterator[str]:
    """A database of this session built by the order service's real migrations only."""
    name, url = await migrated_database(infra.admin_database_url, ("order",))
    yield url
    await drop_database(infra.admin_database_url, name)


@pytest.fixture(scope="session")
def products() -> ProductStandIn:
    return ProductStandIn()


@pytest.fixture(scope="session")
def carts() -> CartStandIn:
    return CartStandIn()


@pytest.fixture(scope="session")
async def product_server(products: ProductStandIn) -> AsyncIterator[AppServer]:
    async with serve(products.app()) as server:
        yield server


@pytest.fixture(scope="session")
async def cart_server(carts: CartStandIn) -> AsyncIterator[AppServer]:
    async with serve(carts.app()) as server:
        yield server


@pytest.fixture(scope="session")
def settings(
    base_env: dict[str, Any], product_server: AppServer, cart_server: AppServer
) -> OrderSettings:
    """The service's settings for this run; the reconciler is driven by tests themselves."""
    return OrderSettings(
        **base_env,
        PRODUCT_URL=product_server.url,
        CART_URL=cart_server.url,
        RECONCILER_INTERVAL=3600,
        IDEMPOTENCY_WAIT_SECONDS=3,
    )


@pytest.fixture(scope="session")
async def server(settings: OrderSettings) -> AsyncIterator[AppServer]:
    """The order service on a real uvicorn server, for the whole session."""
    async with serve(create_app(settings)) as running:
        yield running


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def clean(database_url: str, products: ProductStandIn, carts: CartStandIn) -> None:
    """Every test starts with an empty order schema and empty stand-ins."""
    await truncate_schema(database_url, "order")
    products.products.clear()
    products.reservations.clear()
    products.returned.clear()
    products.calls.clear()
    products.fail_reserve_with = None
    carts.carts.clear()
    carts.subtracted.clear()
    carts.fail_with = None


@pytest.fixture
async def api(server: AppServer, signer: TestSigner, clean: None) -> AsyncIterator[Api]:
    """A client of the running service, on a clean database."""
    async with client_session(base_url=server.url) as session:
        yield Api(session, signer)


@pytest.fixture
async def internal_http() -> AsyncIterator[InternalClient]:
    client = InternalClient(INTERNAL_TOKEN)
    yield client
    await client.close()


@pytest.fixture
def provider(engine: AsyncEngine) -> TestProvider:
    return TestProvider(engine)


@pytest.fixture
def checkout_service(
    settings: OrderSettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: TestProvider,
    internal_http: InternalClient,
    clean: None,
) -> CheckoutService:
    """The checkout orchestration in the test's own process (to stop it between steps)."""
    return CheckoutService(
        settings=settings,
        sessionmaker=sessionmaker,
        provider=provider,
        products=ProductClient(internal_http, settings.product_url, 5),
        carts=CartClient(internal_http, settings.cart_url, 5),
    )


@pytest.fixture
def cancellations(
    settings: OrderSettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: TestProvider,
    internal_http: InternalClient,
) -> Cancellations:
    return Cancellations(
        sessionmaker, provider, ProductClient(internal_http, settings.product_url, 5)
    )
