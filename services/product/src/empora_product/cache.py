"""Redis cache of product details and listing pages, invalidated by a generation counter.

Every cached entry's key carries the catalog generation; an admin change bumps the generation
(after its commit), so no reader can see an entry written before it. Stock figures are never
cached: they are read from the database and merged in, so checkouts never flush the cache.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import NoScriptError
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger("empora.product.cache")

# One round trip: the generation and the entry of that generation.
_GET_SCRIPT = """
local gen = redis.call('GET', KEYS[1]) or '0'
return {gen, redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[2])}
"""

_CHANGED_FLAG = "catalog_changed"


def mark_catalog_changed(session: AsyncSession) -> None:
    """Record that this unit of work changes what the cache holds (bumped after commit)."""
    session.info[_CHANGED_FLAG] = True


def catalog_changed(session: AsyncSession) -> bool:
    """Whether this unit of work changed cached catalog data."""
    return bool(session.info.get(_CHANGED_FLAG))


def generation_key(prefix: str) -> str:
    """The Redis key of the catalog generation counter."""
    return f"{prefix}product:cache:gen"


class CatalogCache:
    """Get/set cached documents under the current generation; ``invalidate`` bumps it."""

    def __init__(
        self,
        redis: Redis | None,
        prefix: str,
        *,
        ttl_seconds: int = 300,
        enabled: bool = True,
        outage_backoff: float = 5.0,
    ) -> None:
        self.redis = redis
        self.enabled = enabled and redis is not None
        self.ttl = ttl_seconds
        self.gen_key = generation_key(prefix)
        self.entry_prefix = f"{prefix}product:cache:"
        self.outage_backoff = outage_backoff
        self._down_until = 0.0
        self._script_sha: str | None = None

    def _available(self) -> bool:
        return self.enabled and time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        # Redis is optional here: serve from the database and stop trying for a moment.
        self._down_until = time.monotonic() + self.outage_backoff
        log.warning("catalog_cache_unavailable", operation=operation, error=str(exc))

    async def get(self, key: str) -> tuple[str | None, str | None]:
        """``(entry, generation)``; the generation is None when the cache cannot be used."""
        if not self._available():
            return None, None
        try:
            gen, value = await self._lookup(key)
        except Exception as exc:
            self._failed("get", exc)
            return None, None
        return value, str(gen)

    async def _lookup(self, key: str) -> Any:
        assert self.redis is not None
        if self._script_sha is not None:
            try:
                return await self.redis.evalsha(
                    self._script_sha, 1, self.gen_key, self.entry_prefix, key
                )
            except NoScriptError:
                pass  # Redis restarted or flushed its scripts: load it again
        self._script_sha = await self.redis.script_load(_GET_SCRIPT)
        return await self.redis.evalsha(self._script_sha, 1, self.gen_key, self.entry_prefix, key)

    async def set(self, generation: str | None, key: str, value: str) -> None:
        """Store an entry under the generation it was read with."""
        if generation is None or not self._available() or self.redis is None:
            return
        try:
            await self.redis.set(f"{self.entry_prefix}{generation}:{key}", value, ex=self.ttl)
        except Exception as exc:
            self._failed("set", exc)

    async def invalidate(self) -> None:
        """Make every cached entry unreachable (call after the change is committed)."""
        if self.redis is None:
            return
        try:
            await self.redis.incr(self.gen_key)
        except Exception as exc:
            # Entries expire after the TTL: the bound on staleness while Redis is away.
            log.error("catalog_cache_invalidate_failed", error=str(exc))
