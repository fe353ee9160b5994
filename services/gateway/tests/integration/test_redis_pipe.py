"""The pipelined Redis client against real redis-server processes."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from empora_common.testing.infra import TestInfra, free_port, port_open
from empora_gateway.redis_pipe import PipelinedRedis, RedisReplyError, RedisUnavailable

from ..standins import PrivateRedis


@pytest.fixture
async def pipe(infra: TestInfra) -> AsyncIterator[PipelinedRedis]:
    client = PipelinedRedis(infra.redis_url)
    yield client
    await client.close()


class TestPipelinedRedis:
    async def test_replies_reach_their_own_callers_under_concurrency(
        self, pipe: PipelinedRedis, redis: Redis, prefix: str
    ) -> None:
        keys = [f"{prefix}pipe:{uuid.uuid4().hex}" for _ in range(200)]
        for i, key in enumerate(keys):
            await redis.set(key, f"v{i}", ex=30)
        replies = await asyncio.gather(*(pipe.execute("GET", key) for key in keys))
        assert replies == [f"v{i}".encode() for i in range(len(keys))]

    async def test_works_on_uvloop_as_in_production(self, infra: TestInfra) -> None:
        uvloop = pytest.importorskip("uvloop")

        async def roundtrip() -> list[object]:
            client = PipelinedRedis(infra.redis_url)
            try:
                return list(await asyncio.gather(*(client.execute("PING") for _ in range(5))))
            finally:
                await client.close()

        assert await asyncio.to_thread(uvloop.run, roundtrip()) == ["PONG"] * 5

    async def test_decodes_integers_strings_nil_and_arrays(self, pipe: PipelinedRedis) -> None:
        assert await pipe.execute("PING") == "PONG"
        assert await pipe.execute("GET", f"missing-{uuid.uuid4().hex}") is None
        assert await pipe.execute("EVAL", "return {1, 'a', {2}}", 0) == [1, b"a", [2]]
        assert await pipe.execute("EVAL", "return 42", 0) == 42

    async def test_an_error_reply_fails_only_its_command(self, pipe: PipelinedRedis) -> None:
        bad, good = await asyncio.gather(
            pipe.execute("EVALSHA", "0" * 40, 0), pipe.execute("PING"), return_exceptions=True
        )
        assert isinstance(bad, RedisReplyError)
        assert str(bad).startswith("NOSCRIPT")
        assert good == "PONG"

    async def test_reconnects_after_the_server_restarts(self, private_redis: PrivateRedis) -> None:
        client = PipelinedRedis(private_redis.url)
        try:
            assert await client.execute("PING") == "PONG"
            private_redis.kill()
            with pytest.raises(RedisUnavailable):
                await client.execute("PING")
            await private_redis.start()
            assert await client.execute("PING") == "PONG"
        finally:
            await client.close()

    async def test_a_silent_server_times_out(self) -> None:
        async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)
            await asyncio.sleep(5)
            writer.close()

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = PipelinedRedis(f"redis://127.0.0.1:{port}/0", timeout=0.2)
        try:
            with pytest.raises(RedisUnavailable):
                await client.execute("PING")
        finally:
            await client.close()
            server.close()

    async def test_refused_connection_is_unavailable(self) -> None:
        client = PipelinedRedis(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
        with pytest.raises(RedisUnavailable):
            await client.execute("PING")
        await client.close()

    async def test_password_and_database_index_from_the_url(self, tmp_path: object) -> None:
        port = free_port()
        proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                "s3cret",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                if port_open("127.0.0.1", port):
                    break
                await asyncio.sleep(0.02)
            client = PipelinedRedis(f"redis://:s3cret@127.0.0.1:{port}/3")
            await client.execute("SET", "k", "in-db-3")
            await client.close()
            check = Redis.from_url(f"redis://:s3cret@127.0.0.1:{port}/3")
            assert await check.get("k") == b"in-db-3"
            await check.aclose()
            wrong = PipelinedRedis(f"redis://:nope@127.0.0.1:{port}/0")
            with pytest.raises(RedisUnavailable):
                await wrong.execute("PING")
            await wrong.close()
        finally:
            proc.kill()
            proc.wait(10)
