"""CatalogCache against a real Redis, and when Redis is away."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from empora_common.testing.infra import TestInfra, free_port
from empora_product.cache import CatalogCache


class TestCatalogCache:
    async def test_an_entry_is_gone_after_invalidation(self, infra: TestInfra, prefix: str) -> None:
        redis = Redis.from_url(infra.redis_url, decode_responses=True)
        cache = CatalogCache(redis, f"{prefix}{uuid.uuid4().hex[:6]}.", ttl_seconds=60)
        try:
            value, generation = await cache.get("k")
            assert value is None and generation is not None
            await cache.set(generation, "k", "v")
            assert (await cache.get("k"))[0] == "v"
            await cache.invalidate()
            value, newer = await cache.get("k")
            assert value is None
            assert newer != generation
            await cache.set(generation, "k", "stale")  # a late writer of the old generation
            assert (await cache.get("k"))[0] is None
        finally:
            await redis.aclose()

    async def test_survives_the_script_cache_being_flushed(
        self, infra: TestInfra, prefix: str
    ) -> None:
        redis = Redis.from_url(infra.redis_url, decode_responses=True)
        cache = CatalogCache(redis, f"{prefix}{uuid.uuid4().hex[:6]}.")
        try:
            _, generation = await cache.get("k")
            await cache.set(generation, "k", "v")
            cache._script_sha = "0" * 40  # as after a Redis restart
            assert (await cache.get("k"))[0] == "v"
        finally:
            await redis.aclose()

    async def test_redis_down_is_a_miss_not_an_error(self) -> None:
        redis = Redis.from_url(
            f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2, socket_timeout=0.2
        )
        cache = CatalogCache(redis, "t.")
        try:
            assert await cache.get("k") == (None, None)
            await cache.set("1", "k", "v")
            await cache.invalidate()
            assert await cache.get("k") == (None, None)  # backing off, no new attempt
        finally:
            await redis.aclose()
