"""Fixtures of the cart's tests: real Redis, a real cart server, and a real HTTP stand-in of
the product service's batch lookup whose catalog each test controls."""

from __future__ import annotations

import hmac
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from empora_cart.app import create_app
from empora_cart.settings import CartSettings
from empora_common.testing.client import JsonClient, client_session
from empora_common.testing.infra import AppServer, TestInfra, serve
from empora_common.testing.tokens import TestSigner

INTERNAL_TOKEN = "test-internal-token"


@dataclass
class StandInProduct:
    id: uuid.UUID
    sku: str
    name: str
    price: int
    available: int
    is_active: bool = True
    reserved: int = 0

    def as_lookup(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "sku": self.sku,
            "slug": self.sku.lower(),
            "name": self.name,
            "price": {"amount": self.price, "currency": "USD"},
            "is_active": self.is_active,
            "on_hand": self.available + self.reserved,
            "reserved": self.reserved,
            "available": self.available,
        }


@dataclass
class StandInCatalog:
    """The product service's ``POST /internal/products/lookup`` as docs/internal-api.md says,
    over an in-memory catalog; it records every lookup so tests can count them."""

    products: dict[uuid.UUID, StandInProduct] = field(default_factory=dict)
    lookups: list[list[str]] = field(default_factory=list)
    failing: bool = False
    _numbers: Any = field(default_factory=lambda: itertools.count(1))

    def add(
        self, *, price: int = 1999, available: int = 10, active: bool = True, name: str = ""
    ) -> uuid.UUID:
        n = next(self._numbers)
        product = StandInProduct(
            id=uuid.uuid4(),
            sku=f"SKU-{n:05d}",
            name=name or f"Product {n}",
            price=price,
            available=available,
            is_active=active,
        )
        self.products[product.id] = product
        return product.id

    def lookups_of(self, product_id: uuid.UUID) -> int:
        return sum(1 for ids in self.lookups if str(product_id) in ids)

    async def lookup(self, request: Request) -> JSONResponse:
        given = request.headers.get("x-internal-token", "")
        if not hmac.compare_digest(given, INTERNAL_TOKEN):
            return JSONResponse({"status": 401}, status_code=401)
        if self.failing:
            return JSONResponse({"status": 500}, status_code=500)
        body = await request.json()
        ids = body.get("ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 200:
            return JSONResponse({"status": 422}, status_code=422)
        self.lookups.append([str(i) for i in ids])
        found = []
        for raw in ids:
            product = self.products.get(uuid.UUID(raw))
            if product is not None:
                found.append(product.as_lookup())
        return JSONResponse({"products": found})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/internal/products/lookup", self.lookup, methods=["POST"])])


class Api(JsonClient):
    """A real HTTP client of one server."""


@pytest.fixture(scope="session")
def cart_env(infra: TestInfra, prefix: str, jwks_server: AppServer) -> dict[str, Any]:
    """Settings of a cart under test (no database: the cart has none)."""
    return {
        "REDIS_URL": infra.redis_url,
        "AMQP_URL": infra.amqp_url,
        "AMQP_PREFIX": prefix,
        "REDIS_PREFIX": prefix,
        "AUTH_URL": jwks_server.url,
        "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
        "EMPORA_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "EMPORA_RUN_WORKERS": False,
    }


@pytest.fixture(scope="session")
def catalog() -> StandInCatalog:
    return StandInCatalog()


@pytest.fixture(scope="session")
async def catalog_server(catalog: StandInCatalog) -> AsyncIterator[AppServer]:
    async with serve(catalog.app()) as server:
        yield server


@pytest.fixture(scope="session")
def cart_settings(cart_env: dict[str, Any], catalog_server: AppServer) -> CartSettings:
    # The cap the guest-cart tests exercise (the default, 1000, would make them slow).
    return CartSettings(**cart_env, PRODUCT_URL=catalog_server.url, CART_GUEST_CREATE_LIMIT=50)


@pytest.fixture(scope="session")
def settings_with(
    cart_env: dict[str, Any], catalog_server: AppServer
) -> Callable[..., CartSettings]:
    """Settings of another cart app, with overrides by their environment names."""

    def make(**overrides: Any) -> CartSettings:
        return CartSettings(**{**cart_env, "PRODUCT_URL": catalog_server.url, **overrides})

    return make


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with client_session() as session:
        yield session


@pytest.fixture(scope="session")
async def cart_server(cart_settings: CartSettings, redis: Redis) -> AsyncIterator[AppServer]:
    async with serve(create_app(cart_settings)) as server:
        yield server


@pytest.fixture(scope="session")
def api(http: aiohttp.ClientSession, cart_server: AppServer) -> Api:
    return Api(http, cart_server.url)


@pytest.fixture(scope="session")
def make_api(http: aiohttp.ClientSession) -> Callable[[AppServer], Api]:
    return lambda server: Api(http, server.url)


@pytest.fixture(scope="session")
async def redis(infra: TestInfra, prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url, decode_responses=True)
    yield client
    # This run's carts, including those of test apps given a sub-prefix of their own.
    for sub in ("", "untrusted.", "store."):
        async for key in client.scan_iter(match=f"{prefix}{sub}cart:*", count=500):
            await client.delete(key)
    await client.aclose()


_ips = itertools.count(1)


@pytest.fixture
def guest(signer: TestSigner) -> dict[str, str]:
    """Headers of a guest from an address of its own (the cart trusts 127.0.0.1 as a proxy),
    so the per-address cap on new guest carts never couples tests."""
    n = next(_ips)
    return {"X-Forwarded-For": f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"}


@pytest.fixture
def user_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def user(signer: TestSigner, user_id: uuid.UUID) -> dict[str, str]:
    """Headers of a signed-in customer."""
    return signer.headers(user_id)


@pytest.fixture(scope="session")
def internal() -> dict[str, str]:
    return {"X-Internal-Token": INTERNAL_TOKEN}
