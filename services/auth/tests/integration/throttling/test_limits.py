from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from empora_auth.settings import AuthSettings
from empora_auth.throttling.limits import Throttle
from empora_common.errors import RateLimited
from empora_common.testing.infra import TestInfra


@pytest.fixture
async def redis(infra: TestInfra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def throttle(redis: Redis, prefix: str, make_settings: Callable[..., AuthSettings]) -> Throttle:
    settings = make_settings(
        login_account_limit=3,
        login_account_window=900,
        login_ip_limit=5,
        signup_ip_limit=2,
        email_account_limit=2,
    )
    return Throttle(redis, f"{prefix}{uuid.uuid4().hex[:6]}.", settings)


class TestLoginThrottle:
    async def test_locks_an_account_after_its_failures_with_retry_after(
        self, throttle: Throttle
    ) -> None:
        for _ in range(3):
            await throttle.check_login("a@example.com", "198.51.100.1")
            await throttle.login_failed("a@example.com", "198.51.100.1")
        with pytest.raises(RateLimited) as caught:
            await throttle.check_login("a@example.com", "198.51.100.2")
        assert caught.value.headers is not None
        assert 890 <= int(caught.value.headers["Retry-After"]) <= 900

    async def test_other_accounts_are_not_affected(self, throttle: Throttle) -> None:
        for _ in range(3):
            await throttle.login_failed("a@example.com", "198.51.100.1")
        allowance = await throttle.check_login("b@example.com", "198.51.100.1")
        assert allowance.account_failures == 0

    async def test_locks_a_client_ip_after_its_failures_across_accounts(
        self, throttle: Throttle
    ) -> None:
        for i in range(5):
            await throttle.login_failed(f"user{i}@example.com", "198.51.100.9")
        with pytest.raises(RateLimited):
            await throttle.check_login("fresh@example.com", "198.51.100.9")
        await throttle.check_login("fresh@example.com", "198.51.100.10")

    async def test_clearing_the_account_lifts_its_lock(self, throttle: Throttle) -> None:
        for _ in range(3):
            await throttle.login_failed("a@example.com", "198.51.100.1")
        await throttle.clear_account("a@example.com")
        assert (await throttle.check_login("a@example.com", "198.51.100.3")).account_failures == 0

    async def test_keys_hide_the_email_address(self, throttle: Throttle) -> None:
        assert "example.com" not in throttle.account_key("secret-person@example.com")


class TestSignupThrottle:
    async def test_refuses_requests_past_the_limit_per_ip(self, throttle: Throttle) -> None:
        await throttle.hit_signup("198.51.100.1")
        await throttle.hit_signup("198.51.100.1")
        with pytest.raises(RateLimited):
            await throttle.hit_signup("198.51.100.1")
        await throttle.hit_signup("198.51.100.2")


class TestEmailBudget:
    async def test_allows_a_few_emails_per_account_then_stops(self, throttle: Throttle) -> None:
        assert [await throttle.allow_email("u1") for _ in range(3)] == [True, True, False]
        assert await throttle.allow_email("u2")


class TestRedisDown:
    async def test_keeps_serving_without_limits(
        self, make_settings: Callable[..., AuthSettings]
    ) -> None:
        dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
        throttle = Throttle(dead, "x.", make_settings(login_account_limit=1, signup_ip_limit=1))
        try:
            await throttle.login_failed("a@example.com", "198.51.100.1")
            await throttle.login_failed("a@example.com", "198.51.100.1")
            assert (await throttle.check_login("a@example.com", "198.51.100.1")).ip_failures == 0
            await throttle.hit_signup("198.51.100.1")
            await throttle.hit_signup("198.51.100.1")
            assert await throttle.allow_email("u1")
        finally:
            await dead.aclose()
