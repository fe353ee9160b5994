"""The Lua token bucket against a real Redis: exact, refilling, reloadable, failing open."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from empora_common.testing.infra import TestInfra, free_port
from empora_gateway.metrics import GatewayMetrics
from empora_gateway.ratelimit import Bucket, RateLimiter
from empora_gateway.redis_pipe import PipelinedRedis

from ..standins import PrivateRedis


@pytest.fixture
async def pipe(infra: TestInfra) -> AsyncIterator[PipelinedRedis]:
    client = PipelinedRedis(infra.redis_url)
    yield client
    await client.close()


def _limiter(redis: PipelinedRedis, prefix: str, **kwargs: float) -> RateLimiter:
    return RateLimiter(redis, prefix=prefix, metrics=GatewayMetrics(), **kwargs)


class TestRateLimiter:
    async def test_concurrent_takes_never_exceed_the_burst(
        self, pipe: PipelinedRedis, prefix: str
    ) -> None:
        limiter = _limiter(pipe, f"{prefix}{uuid.uuid4().hex[:6]}.")
        bucket = Bucket("ip", burst=25, refill=0.0001)
        decisions = await asyncio.gather(*(limiter.take(bucket, "1.2.3.4") for _ in range(60)))
        allowed = [d for d in decisions if d is not None and d.allowed]
        assert len(allowed) == 25
        assert sorted(d.remaining for d in allowed) == list(range(25))
        refused = [d for d in decisions if d is not None and not d.allowed]
        assert len(refused) == 35
        assert all(d.retry_after >= 1 for d in refused)

    async def test_subjects_have_their_own_buckets(self, pipe: PipelinedRedis, prefix: str) -> None:
        limiter = _limiter(pipe, f"{prefix}{uuid.uuid4().hex[:6]}.")
        bucket = Bucket("ip", burst=1, refill=0.0001)
        first = await limiter.take(bucket, "a")
        second = await limiter.take(bucket, "b")
        third = await limiter.take(bucket, "a")
        assert first is not None and first.allowed
        assert second is not None and second.allowed
        assert third is not None and not third.allowed

    async def test_tokens_come_back_at_the_refill_rate(
        self, pipe: PipelinedRedis, prefix: str
    ) -> None:
        limiter = _limiter(pipe, f"{prefix}{uuid.uuid4().hex[:6]}.")
        bucket = Bucket("checkout", burst=2, refill=20.0)  # one token per 50 ms
        for _ in range(2):
            decision = await limiter.take(bucket, "user")
            assert decision is not None and decision.allowed
        refused = await limiter.take(bucket, "user")
        assert refused is not None and not refused.allowed
        await asyncio.sleep(0.15)
        again = await limiter.take(bucket, "user")
        assert again is not None and again.allowed

    async def test_keys_live_under_the_prefix_and_expire(
        self, pipe: PipelinedRedis, redis: Redis, prefix: str
    ) -> None:
        own = f"{prefix}{uuid.uuid4().hex[:6]}."
        limiter = _limiter(pipe, own)
        await limiter.take(Bucket("ip", burst=10, refill=5.0), "9.9.9.9")
        key = f"{own}gateway:rl:ip:9.9.9.9"
        assert await redis.exists(key) == 1
        ttl = await redis.pttl(key)
        assert 0 < ttl <= 2000 + 1000

    async def test_a_forgotten_script_is_loaded_again(self, private_redis: PrivateRedis) -> None:
        client = PipelinedRedis(private_redis.url)
        try:
            limiter = _limiter(client, "p.")
            bucket = Bucket("ip", burst=5, refill=1.0)
            assert (await limiter.take(bucket, "x")) is not None
            await client.execute("SCRIPT", "FLUSH")
            decision = await limiter.take(bucket, "x")
            assert decision is not None and decision.allowed and decision.remaining == 3
        finally:
            await client.close()

    async def test_fails_open_when_redis_is_unreachable(self) -> None:
        client = PipelinedRedis(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
        metrics = GatewayMetrics()
        limiter = RateLimiter(client, prefix="p.", metrics=metrics, retry_after_failure=10)
        try:
            bucket = Bucket("ip", burst=1, refill=1.0)
            assert await limiter.take(bucket, "x") is None
            assert not limiter.healthy
            assert await limiter.take(bucket, "x") is None  # skipped without asking Redis
            assert metrics.registry.get_sample_value("gateway_rate_limit_fail_open_total") == 2
            assert metrics.registry.get_sample_value("gateway_rate_limit_redis_errors_total") == 1
        finally:
            await client.close()
