"""The whole platform, started by ``empora up`` exactly as a user would, for the journeys.

Set ``E2E_GATEWAY_URL`` and ``E2E_SINK_URL`` to run the journeys against a platform that is
already running instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from empora_common.constants import ALL_SERVICES
from empora_common.paths import repo_root
from empora_common.testing.client import client_session
from empora_common.testing.infra import (
    TestInfra,
    free_port,
    remove_amqp_names,
    remove_redis_keys,
    with_database,
)
from empora_common.testing.otlp import OtlpReceiver

ADMIN_EMAIL = "admin@journeys.example.com"
ADMIN_PASSWORD = "journeys-admin-passphrase"
UP_TIMEOUT = 240.0


@dataclass
class Platform:
    gateway: str
    sink: str
    admin_email: str
    admin_password: str
    # The services export their traces here (None for a platform started elsewhere).
    traces: OtlpReceiver | None = None


@pytest.fixture(scope="session")
def platform(infra: TestInfra) -> Iterator[Platform]:
    if os.environ.get("E2E_GATEWAY_URL"):
        yield Platform(
            os.environ["E2E_GATEWAY_URL"].rstrip("/"),
            os.environ["E2E_SINK_URL"].rstrip("/"),
            os.environ.get("E2E_ADMIN_EMAIL", ADMIN_EMAIL),
            os.environ.get("E2E_ADMIN_PASSWORD", ADMIN_PASSWORD),
        )
        return
    import asyncio

    db_name = f"empora_e2e_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(infra.admin_database_url.replace("+asyncpg", ""))
        await conn.execute(f'CREATE DATABASE "{db_name}"')
        await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(infra.admin_database_url.replace("+asyncpg", ""))
        await conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(create())
    traces = OtlpReceiver().__enter__()
    state = Path(tempfile.mkdtemp(prefix="empora-journeys-"))
    prefix = f"j{uuid.uuid4().hex[:6]}."
    env = dict(os.environ)
    env.update({f"{s.upper()}_PORT": str(free_port()) for s in ALL_SERVICES})
    for name in ("SMTP_HOST", "SMTP_PORT", "PUBLIC_BASE_URL", "INTERNAL_API_TOKEN"):
        env.pop(name, None)
    env.update(
        {
            "DATABASE_URL": with_database(infra.admin_database_url, db_name),
            "REDIS_URL": infra.redis_url,
            "AMQP_URL": infra.amqp_url,
            "REDIS_PREFIX": prefix,
            "AMQP_PREFIX": prefix,
            "EMPORA_STATE_DIR": str(state / "state"),
            "SMTP_SINK_PORT": str(free_port()),
            "SMTP_SINK_HTTP_PORT": str(free_port()),
            "EMPORA_ADMIN_EMAIL": ADMIN_EMAIL,
            "EMPORA_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "EMPORA_UP_TIMEOUT": str(UP_TIMEOUT - 30),
            "LOG_LEVEL": "WARNING",
            # Traces on, as an operator would turn them on, exported every 200 ms.
            "OTEL_EXPORTER_OTLP_ENDPOINT": traces.url,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
    )
    log = state / "up.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "empora_cli", "up"],
            env=env,
            cwd=repo_root(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + UP_TIMEOUT
        while "Empora is up." not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"empora up did not come up:\n{log.read_text()[-5000:]}")
            time.sleep(0.5)
        yield Platform(
            f"http://127.0.0.1:{env['GATEWAY_PORT']}",
            f"http://127.0.0.1:{env['SMTP_SINK_HTTP_PORT']}",
            ADMIN_EMAIL,
            ADMIN_PASSWORD,
            traces,
        )
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        traces.__exit__(None, None, None)
        asyncio.run(drop())
        asyncio.run(remove_amqp_names(infra.amqp_url, prefix))
        asyncio.run(remove_redis_keys(infra.redis_url, prefix))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with client_session() as session:
        yield session
