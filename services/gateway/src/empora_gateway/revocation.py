"""The per-user "valid after" lookups of the token verifier, over the pipelined client.

``TokenVerifier`` asks Redis ``GET <prefix>auth:valid_after:<user>`` (cached locally for two
seconds per user). Through this adapter that read shares the limiter's pipelined connection,
and while Redis is failing it answers "no revocation" at once instead of waiting for a timeout
on every request: tokens then stay valid until they expire, exactly what the verifier does
when Redis errors, minus the latency and a warning per request.
"""

from __future__ import annotations

import time

import structlog

from empora_gateway.redis_pipe import PipelinedRedis

log = structlog.get_logger("empora.gateway.revocation")


class RevocationReader:
    """The ``get`` that ``TokenVerifier`` needs, failing open fast while Redis is down."""

    def __init__(self, redis: PipelinedRedis, *, retry_after: float = 1.0) -> None:
        self.redis = redis
        self.retry_after = retry_after
        self._down_until = 0.0
        self._last_warning = 0.0

    async def get(self, key: str) -> bytes | None:
        """The value at ``key``; None when absent or while Redis cannot answer."""
        if self._down_until and time.monotonic() < self._down_until:
            return None
        try:
            value = await self.redis.execute("GET", key)
        except Exception as exc:  # a Redis failure must never fail the request
            now = time.monotonic()
            self._down_until = now + self.retry_after
            if now - self._last_warning > 10.0:
                self._last_warning = now
                log.warning("revocation_check_skipped", error=f"{type(exc).__name__}: {exc}")
            return None
        self._down_until = 0.0
        return value if isinstance(value, bytes) else None
