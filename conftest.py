"""Fixtures shared by every test in the workspace: real infrastructure, never mocks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from empora_common.testing.infra import (
    AppServer,
    TestInfra,
    create_database,
    discover_test_infra,
    drop_database,
    migrated_database,
    remove_amqp_names,
    remove_redis_keys,
    unique_prefix,
)
from empora_common.testing.tokens import TestSigner

INTERNAL_TOKEN = "test-internal-token"


@pytest.fixture(scope="session")
def infra() -> TestInfra:
    """The real PostgreSQL, Redis and RabbitMQ this run uses."""
    return discover_test_infra()


@pytest.fixture(scope="session")
async def prefix(infra: TestInfra) -> AsyncIterator[str]:
    """A Redis-key and AMQP-name prefix unique to this run; its queues and keys go at the
    end."""
    value = unique_prefix()
    yield value
    await remove_amqp_names(infra.amqp_url, value)
    await remove_redis_keys(infra.redis_url, value)


@pytest.fixture(scope="session")
async def database_url(infra: TestInfra) -> AsyncIterator[str]:
    """A database of this session, built by every service's real migrations."""
    name, url = await migrated_database(infra.admin_database_url)
    yield url
    await drop_database(infra.admin_database_url, name)


@pytest.fixture(scope="session")
async def bare_database_url(infra: TestInfra) -> AsyncIterator[str]:
    """An empty database of this session (for tests of the shared machinery)."""
    name = f"empora_test_bare_{uuid.uuid4().hex[:8]}"
    url = await create_database(infra.admin_database_url, name)
    yield url
    await drop_database(infra.admin_database_url, name)


@pytest.fixture(scope="session")
def signer() -> TestSigner:
    """Signs access tokens like the auth service (for tests of the other services)."""
    return TestSigner()


@pytest.fixture(scope="session")
async def jwks_server(signer: TestSigner) -> AsyncIterator[AppServer]:
    """Serves the signer's JWKS where services look for the auth service's."""
    server = await AppServer(signer.jwks_app()).start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def base_env(
    infra: TestInfra, database_url: str, prefix: str, jwks_server: AppServer
) -> dict[str, Any]:
    """Settings every service under test shares (pass as keyword arguments)."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": infra.redis_url,
        "AMQP_URL": infra.amqp_url,
        "AMQP_PREFIX": prefix,
        "REDIS_PREFIX": prefix,
        "AUTH_URL": jwks_server.url,
        "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
        "EMPORA_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "OUTBOX_POLL_INTERVAL": 0.2,
    }


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"
