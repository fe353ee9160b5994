"""Token-bucket rate limits in Redis: one EVALSHA round trip per request, fail open."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import structlog

from empora_gateway.metrics import GatewayMetrics
from empora_gateway.redis_pipe import PipelinedRedis, RedisReplyError

log = structlog.get_logger("empora.gateway.ratelimit")

# The bucket refills continuously; the clock is Redis's own (TIME), so every gateway instance
# sharing the Redis agrees on it. Returns {allowed, remaining, retry_after_ms, reset_ms}.
TOKEN_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000)
else
  tokens = math.min(capacity, tokens)
end
local allowed = 0
local retry_ms = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_ms = math.ceil((cost - tokens) * 1000 / rate)
end
local reset_ms = math.ceil((capacity - tokens) * 1000 / rate)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], reset_ms + 1000)
return {allowed, math.floor(tokens), retry_ms, reset_ms}
"""
TOKEN_BUCKET_SHA = hashlib.sha1(TOKEN_BUCKET_LUA.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class Bucket:
    """A named limit: burst capacity and refill per second."""

    name: str
    burst: int
    refill: float

    @property
    def limit_header(self) -> bytes:
        return str(self.burst).encode()


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of taking one token."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds, >= 1 when refused
    reset: int  # seconds until the bucket is full again

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``RateLimit-*`` headers (and ``Retry-After`` when refused)."""
        headers = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        return headers


class RateLimiter:
    """Takes tokens from Redis buckets; when Redis fails it lets requests through."""

    def __init__(
        self,
        redis: PipelinedRedis,
        *,
        prefix: str,
        metrics: GatewayMetrics,
        retry_after_failure: float = 1.0,
    ) -> None:
        self.redis = redis
        self.prefix = f"{prefix}gateway:rl:"
        self.metrics = metrics
        self.retry_after_failure = retry_after_failure
        self._down_until = 0.0
        self._last_warning = 0.0

    @property
    def healthy(self) -> bool:
        """False while the limiter is failing open after a Redis error."""
        return time.monotonic() >= self._down_until

    async def take(self, bucket: Bucket, subject: str) -> Decision | None:
        """Take one token for ``subject``; None when Redis cannot answer (fail open)."""
        if self._down_until and time.monotonic() < self._down_until:
            self.metrics.rate_limit_fail_open.inc()
            return None
        key = f"{self.prefix}{bucket.name}:{subject}"
        command = ("EVALSHA", TOKEN_BUCKET_SHA, 1, key, bucket.burst, bucket.refill, 1)
        try:
            try:
                result = await self.redis.execute(*command)
            except RedisReplyError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                # A restarted or flushed Redis forgot the script: load it once, then retry.
                await self.redis.execute("SCRIPT", "LOAD", TOKEN_BUCKET_LUA)
                result = await self.redis.execute(*command)
        except Exception as exc:  # a limiter failure must never take the API down
            self._fail_open(exc)
            return None
        if not isinstance(result, list) or len(result) != 4:
            self._fail_open(RedisReplyError(f"unexpected reply {result!r}"))
            return None
        self._down_until = 0.0
        allowed, remaining, retry_ms, reset_ms = (int(v) for v in result)
        return Decision(
            allowed=allowed == 1,
            limit=bucket.burst,
            remaining=max(0, remaining),
            retry_after=max(1, math.ceil(retry_ms / 1000)),
            reset=max(0, math.ceil(reset_ms / 1000)),
        )

    def _fail_open(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._down_until = now + self.retry_after_failure
        self.metrics.rate_limit_fail_open.inc()
        self.metrics.rate_limit_errors.inc()
        if now - self._last_warning > 10.0:
            self._last_warning = now
            log.warning("rate_limit_fail_open", error=f"{type(exc).__name__}: {exc}")
