"""Per-session databases, prefixes and in-process HTTP servers for tests (never mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import uvicorn
from redis.asyncio import Redis

from empora_common.constants import SERVICES
from empora_common.db import plain_database_url
from empora_common.messaging.topology import Names, delete_names
from empora_common.migrations import upgrade
from empora_common.paths import migrations_dir
from empora_common.server import HttpProtocol

SERVICES_WITH_TABLES: tuple[str, ...] = tuple(s for s in SERVICES if s != "cart")


@dataclass(frozen=True)
class TestInfra:
    """Where the real PostgreSQL, Redis and RabbitMQ of this test run are."""

    __test__ = False  # not a pytest class

    admin_database_url: str  # a database we may connect to to CREATE DATABASE
    redis_url: str
    amqp_url: str


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections there."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def discover_test_infra() -> TestInfra:
    """Configured URLs (TEST_* or the contract's names) else the standard local ports.

    A machine without them gets private servers from ``empora_common.infra`` (the same
    discovery as ``empora up``).
    """
    db = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    redis = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    amqp = os.environ.get("TEST_AMQP_URL") or os.environ.get("AMQP_URL")
    if not (db and redis and amqp):
        from empora_common import infra

        found = infra.ensure_infra(private=False)
        db = db or found.database_url
        redis = redis or found.redis_url
        amqp = amqp or found.amqp_url
    return TestInfra(admin_database_url=db, redis_url=redis, amqp_url=amqp)


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def create_database(admin_url: str, name: str) -> str:
    """CREATE DATABASE; returns its URL."""
    conn = await asyncpg.connect(plain_database_url(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    """DROP DATABASE, closing stray connections."""
    conn = await asyncpg.connect(plain_database_url(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def migrated_database(
    admin_url: str, services: tuple[str, ...] = SERVICES_WITH_TABLES
) -> tuple[str, str]:
    """A new database built by the services' real migrations: (name, url)."""
    name = f"empora_test_{uuid.uuid4().hex[:10]}"
    url = await create_database(admin_url, name)
    for service in services:
        folder = migrations_dir(service)
        if folder.is_dir():
            await asyncio.to_thread(upgrade, folder, url)
    return name, url


async def truncate_schema(url: str, schema: str) -> None:
    """Empty every table of a schema except Alembic's version table."""
    conn = await asyncpg.connect(plain_database_url(url))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1"
            " AND tablename <> 'alembic_version'",
            schema,
        )
        if tables:
            names = ", ".join(f'"{schema}"."{t["tablename"]}"' for t in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


def unique_prefix() -> str:
    """A prefix for Redis keys and AMQP names that no other run uses."""
    return f"t{uuid.uuid4().hex[:8]}."


# The consumer queues of the platform's services (docs/internal-api.md; each service's tests
# check that its own are listed), for removing what a run declared under its prefix.
PLATFORM_QUEUES = ("product.orders", "cart.orders", "cart.products", "notification.emails")


async def remove_amqp_names(
    amqp_url: str, prefix: str, queues: Iterable[str] = PLATFORM_QUEUES
) -> None:
    """Delete the queues and exchanges a run declared under its prefix (best effort: a broker
    that is away keeps them)."""
    try:
        connection = await aio_pika.connect(amqp_url, timeout=5)
    except Exception:
        return
    async with connection:
        channel = await connection.channel()
        await delete_names(channel, Names(prefix), queues)


_KEY_PREFIX = re.compile(r"^[A-Za-z0-9._-]+$")


async def remove_redis_keys(redis_url: str, prefix: str) -> int:
    """Delete the Redis keys a run wrote under its prefix (carts, markers, limiter buckets);
    returns how many. Best effort: a Redis that is away keeps them."""
    if not _KEY_PREFIX.match(prefix):
        raise ValueError(f"refusing to delete Redis keys under the prefix {prefix!r}")
    client = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    removed = 0
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                removed += await client.unlink(*batch)
                batch.clear()
        if batch:
            removed += await client.unlink(*batch)
    except Exception:
        return removed
    finally:
        await client.aclose()
    return removed


class AppServer:
    """A real uvicorn server for an ASGI app, in this process, on a free port."""

    def __init__(
        self, app: Any, port: int | None = None, *, http: type[HttpProtocol] = HttpProtocol
    ) -> None:
        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="on",
                access_log=False,
                # As in production: the app, not uvicorn, decides whom to believe.
                proxy_headers=False,
                http=http,
            )
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> AppServer:
        """Start serving and wait until the lifespan has run."""
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("server exited during start-up")
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        """Stop serving and run the lifespan's shutdown."""
        self.server.should_exit = True
        if self._task is not None:
            await self._task


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[AppServer]:
    """``async with serve(app) as server:`` — a started AppServer, stopped afterwards."""
    server = await AppServer(app).start()
    try:
        yield server
    finally:
        await server.stop()
