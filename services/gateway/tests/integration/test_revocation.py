"""The verifier's "valid after" reads over the pipelined client."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from empora_common.testing.infra import TestInfra
from empora_gateway.redis_pipe import PipelinedRedis
from empora_gateway.revocation import RevocationReader

from ..standins import PrivateRedis


class TestRevocationReader:
    async def test_reads_the_value_written_by_the_auth_service(
        self, infra: TestInfra, redis: Redis, prefix: str
    ) -> None:
        key = f"{prefix}auth:valid_after:{uuid.uuid4()}"
        await redis.set(key, "1700000000", ex=30)
        pipe = PipelinedRedis(infra.redis_url)
        try:
            reader = RevocationReader(pipe)
            assert await reader.get(key) == b"1700000000"
            assert await reader.get(key + "-absent") is None
        finally:
            await pipe.close()

    async def test_answers_no_revocation_at_once_while_redis_is_down(self) -> None:
        server = PrivateRedis()  # its port is chosen, the server not started yet
        pipe = PipelinedRedis(server.url, timeout=0.2)
        try:
            reader = RevocationReader(pipe, retry_after=60)
            assert await reader.get("k") is None  # refused: Redis is down
            await server.start()
            writer = Redis.from_url(server.url)
            await writer.set("k", "1")
            await writer.aclose()
            assert await reader.get("k") is None  # still in the fail-fast window: not asked
            reader._down_until = 0.0
            assert await reader.get("k") == b"1"
        finally:
            await pipe.close()
            server.kill()
