"""Discovery against real servers, and a real private Redis started and stopped."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from empora_common import infra as discovery
from empora_common.testing.infra import TestInfra, remove_redis_keys


class TestEnsureInfra:
    def test_uses_configured_urls_as_given(self, tmp_path: Path, infra: TestInfra) -> None:
        redis_url = infra.redis_url.rsplit("/", 1)[0] + "/5"
        env = {
            "DATABASE_URL": infra.admin_database_url,
            "REDIS_URL": redis_url,
            "AMQP_URL": infra.amqp_url,
        }

        urls = discovery.ensure_infra(state=tmp_path, env=env, record_urls=True)

        assert (urls.database_url, urls.redis_url, urls.amqp_url) == (
            infra.admin_database_url,
            redis_url,
            infra.amqp_url,
        )
        assert dict(urls.sources) == {
            "postgres": "configured",
            "redis": "configured",
            "rabbitmq": "configured",
        }
        assert discovery.recorded_urls(tmp_path) == urls

    def test_records_the_urls_only_when_asked(self, tmp_path: Path, infra: TestInfra) -> None:
        env = {
            "DATABASE_URL": infra.admin_database_url,
            "REDIS_URL": infra.redis_url,
            "AMQP_URL": infra.amqp_url,
        }

        discovery.ensure_infra(state=tmp_path, env=env)

        assert discovery.recorded_urls(tmp_path) is None

    def test_clears_a_stale_record_before_choosing(self, tmp_path: Path, infra: TestInfra) -> None:
        (tmp_path / "infra.json").write_text(
            '{"servers": {"redis": {"kind": "redis", "pid": 999999999, "port": 1,'
            ' "data_dir": "/nowhere", "url": "redis://127.0.0.1:1/0"}}}'
        )
        env = {
            "DATABASE_URL": infra.admin_database_url,
            "REDIS_URL": infra.redis_url,
            "AMQP_URL": infra.amqp_url,
        }
        messages: list[str] = []

        discovery.ensure_infra(state=tmp_path, env=env, log=messages.append)

        assert discovery.recorded_servers(tmp_path) == {}
        assert any("stale" in m for m in messages)


class TestPrivateRedis:
    def test_starts_answers_and_stops_leaving_nothing(self, tmp_path: Path) -> None:
        server = discovery.STARTERS["redis"](tmp_path, lambda _m: None)
        server.started = discovery.proc_start_time(server.pid)
        discovery._write_record(tmp_path, {"redis": server}, None)
        try:
            assert discovery.redis_answers(server.url)
            assert server.port != 6379
        finally:
            stopped = discovery.stop_infra(tmp_path)

        assert stopped == [f"redis (pid {server.pid}, port {server.port})"]
        assert not discovery.pid_alive(server.pid)
        assert not discovery.redis_answers(server.url, timeout=0.3)


class TestRemoveRedisKeys:
    async def test_removes_only_the_runs_keys(self, infra: TestInfra) -> None:
        mine, other = f"rk{uuid.uuid4().hex[:8]}.", f"rk{uuid.uuid4().hex[:8]}."
        client = Redis.from_url(infra.redis_url)
        try:
            for n in range(2500):  # more than one scan/unlink batch
                await client.set(f"{mine}cart:{n}", "x")
            await client.set(f"{other}cart:1", "y")
            assert await remove_redis_keys(infra.redis_url, mine) == 2500
            assert [k async for k in client.scan_iter(match=f"{mine}*")] == []
            assert await client.get(f"{other}cart:1") == b"y"
            with pytest.raises(ValueError):
                await remove_redis_keys(infra.redis_url, "")
            with pytest.raises(ValueError):
                await remove_redis_keys(infra.redis_url, "*")
        finally:
            await client.delete(f"{other}cart:1")
            await client.aclose()
