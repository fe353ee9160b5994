"""Fixtures of the auth service's tests: a real database (the auth migrations), real Redis,
a real uvicorn server. Argon2 runs at a low cost here; default settings keep OWASP's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from empora_auth.admin import ensure_admin
from empora_auth.app import create_app
from empora_auth.settings import AuthSettings
from empora_common.testing.client import client_session
from empora_common.testing.infra import AppServer, TestInfra, drop_database, migrated_database

from .support import GOOD_PASSWORD, Account, Api, Database, app_server, unique_email

INTERNAL_TOKEN = "test-internal-token"
FAST_ARGON2 = {"argon2_memory_cost": 1024, "argon2_time_cost": 1, "argon2_workers": 2}
NO_LIMITS = {
    "login_account_limit": 100_000,
    "login_ip_limit": 100_000,
    "signup_ip_limit": 100_000,
    "email_account_limit": 100_000,
}


@pytest.fixture(scope="session")
async def auth_database_url(infra: TestInfra) -> AsyncIterator[str]:
    """A database built by the auth service's own migrations only."""
    name, url = await migrated_database(infra.admin_database_url, services=("auth",))
    yield url
    await drop_database(infra.admin_database_url, name)


@pytest.fixture(scope="session")
def auth_env(infra: TestInfra, prefix: str, auth_database_url: str) -> dict[str, Any]:
    """The shared test settings (as in base_env), on the auth-only database."""
    return {
        "DATABASE_URL": auth_database_url,
        "REDIS_URL": infra.redis_url,
        "AMQP_URL": infra.amqp_url,
        "AMQP_PREFIX": prefix,
        "REDIS_PREFIX": prefix,
        "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
        "EMPORA_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "OUTBOX_POLL_INTERVAL": 0.2,
        "PUBLIC_BASE_URL": "https://shop.example.test",
    }


@pytest.fixture(scope="session")
def make_settings(auth_env: dict[str, Any]) -> Callable[..., AuthSettings]:
    """Settings for a test app: fast Argon2, no limits, unless overridden."""

    def build(**overrides: Any) -> AuthSettings:
        values: dict[str, Any] = {**auth_env, "EMPORA_RUN_WORKERS": False, **FAST_ARGON2}
        values.update(NO_LIMITS)
        values.update(overrides)
        return AuthSettings(**values)

    return build


@pytest.fixture(scope="session")
def settings(make_settings: Callable[..., AuthSettings]) -> AuthSettings:
    return make_settings()


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with client_session() as session:
        yield session


@pytest.fixture(scope="session")
async def server(settings: AuthSettings) -> AsyncIterator[AppServer]:
    """The auth service every API test shares."""
    srv = await app_server(create_app(settings)).start()
    yield srv
    await srv.stop()


@pytest.fixture(scope="session")
def api(server: AppServer, http: aiohttp.ClientSession) -> Api:
    return Api(server.url, http)


@pytest.fixture(scope="session")
def db(auth_database_url: str) -> Database:
    return Database(auth_database_url)


@pytest.fixture
async def user(api: Api) -> Account:
    """A fresh signed-in customer."""
    return await api.new_user()


@pytest.fixture
async def admin(api: Api, settings: AuthSettings) -> Account:
    """A fresh signed-in administrator (made by ensure_admin, as `empora create-admin` does)."""
    email = unique_email("admin")
    user_id = await ensure_admin(settings, email, GOOD_PASSWORD)
    tokens = await api.login(email)
    assert tokens.status == 200, tokens.body
    return Account(
        id=str(user_id),
        email=email,
        password=GOOD_PASSWORD,
        access_token=tokens.body["access_token"],
        refresh_token=tokens.body["refresh_token"],
    )


@pytest.fixture
def client_ip() -> str:
    """A client address of its own (sent through X-Forwarded-For from the trusted loopback)."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"
