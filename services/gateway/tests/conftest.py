"""Fixtures of the gateway's tests: real Redis, real uvicorn servers, real stand-in services."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from empora_common.testing.client import client_session
from empora_common.testing.infra import AppServer, TestInfra
from empora_common.testing.tokens import TestSigner
from empora_gateway.app import Gateway, create_app, http_protocol
from empora_gateway.settings import GatewaySettings

from .standins import GatewayFactory, PrivateRedis, Upstreams


@pytest.fixture(scope="session")
async def upstreams(signer: TestSigner) -> AsyncIterator[Upstreams]:
    ups = Upstreams(signer)
    await ups.start()
    yield ups
    await ups.stop()


@pytest.fixture(autouse=True)
def _reset_upstreams(request: pytest.FixtureRequest) -> None:
    if "upstreams" in request.fixturenames:
        request.getfixturevalue("upstreams").reset()


@pytest.fixture(scope="session")
def gateway_env(infra: TestInfra, prefix: str, upstreams: Upstreams) -> dict[str, Any]:
    """Settings of a gateway in front of the stand-ins, with its own Redis key prefix."""
    return {
        "REDIS_URL": infra.redis_url,
        "REDIS_PREFIX": f"{prefix}{uuid.uuid4().hex[:6]}.",
        "AMQP_PREFIX": prefix,
        "EMPORA_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "INTERNAL_API_TOKEN": "test-internal-token",
        "GATEWAY_RETRY_BACKOFF_MIN": 0.01,
        "GATEWAY_RETRY_BACKOFF_MAX": 0.02,
        **upstreams.urls(),
    }


async def start_gateway(settings: GatewaySettings) -> tuple[Gateway, AppServer]:
    """A gateway on a real uvicorn server (uvicorn's own proxy-header rewriting off, as in
    ``python -m empora_gateway``)."""
    gateway = create_app(settings)
    server = AppServer(gateway, http=http_protocol(settings))
    server.server.config.proxy_headers = False
    await server.start()
    return gateway, server


@pytest.fixture
async def make_gateway(gateway_env: dict[str, Any]) -> AsyncIterator[GatewayFactory]:
    """Start gateways with setting overrides; all stopped after the test."""
    servers: list[AppServer] = []

    async def make(**overrides: Any) -> tuple[Gateway, AppServer]:
        # Each gateway gets its own Redis key prefix unless a test makes two share one.
        unique = {"REDIS_PREFIX": f"{gateway_env['REDIS_PREFIX']}{uuid.uuid4().hex[:6]}."}
        env = {**gateway_env, **unique, **overrides}
        gateway, server = await start_gateway(GatewaySettings(**env))
        servers.append(server)
        return gateway, server

    yield make
    for server in servers:
        await server.stop()


@pytest.fixture(scope="session")
async def shared_gateway(gateway_env: dict[str, Any]) -> AsyncIterator[tuple[Gateway, AppServer]]:
    gateway, server = await start_gateway(GatewaySettings(**gateway_env))
    yield gateway, server
    await server.stop()


@pytest.fixture
async def gateway(shared_gateway: tuple[Gateway, AppServer]) -> tuple[Gateway, AppServer]:
    """A default gateway shared by the tests that change nothing in it (breakers reset)."""
    for breaker in shared_gateway[0].breakers.values():
        breaker.record_success()
    return shared_gateway


@pytest.fixture
def gateway_url(gateway: tuple[Gateway, AppServer]) -> str:
    return gateway[1].url


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with client_session(
        cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        yield session


@pytest.fixture
async def redis(infra: TestInfra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis()
    await server.start()
    yield server
    server.kill()
