"""The commands as a user runs them: a real process, real servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from empora_common.constants import ALL_SERVICES
from empora_common.infra import free_port, pid_alive, proc_start_time
from empora_common.testing.infra import TestInfra, create_database, drop_database


def empora(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "empora_cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def moved_ports(state: Path) -> dict[str, str]:
    """Ports where nothing listens, so every service reads as down."""
    env = {f"{s.upper()}_PORT": str(free_port()) for s in ALL_SERVICES}
    return {**env, "EMPORA_STATE_DIR": str(state)}


@pytest.fixture
async def empty_database(infra: TestInfra) -> AsyncIterator[str]:
    name = f"empora_cli_{os.getpid()}_{free_port()}"
    url = await create_database(infra.admin_database_url, name)
    yield url
    await drop_database(infra.admin_database_url, name)


class TestMigrate:
    async def test_builds_every_service_schema(self, tmp_path: Path, empty_database: str) -> None:
        env = {**moved_ports(tmp_path), "DATABASE_URL": empty_database}

        result = empora("migrate", env=env)

        assert result.returncode == 0, result.stdout + result.stderr
        conn = await asyncpg.connect(empty_database)
        try:
            rows = await conn.fetch(
                "SELECT table_schema FROM information_schema.tables"
                " WHERE table_name = 'alembic_version'"
            )
        finally:
            await conn.close()
        assert {r["table_schema"] for r in rows} == {"auth", "product", "order", "notification"}


class TestStatus:
    def test_shows_services_down_and_exits_1_when_nothing_runs(self, tmp_path: Path) -> None:
        result = empora("status", env=moved_ports(tmp_path))

        assert result.returncode == 1
        assert "(not running)" in result.stdout
        for service in ALL_SERVICES:
            line = next(line for line in result.stdout.splitlines() if f" {service} " in line)
            assert "down" in line


class TestDown:
    def test_stops_processes_a_crashed_up_left_behind(self, tmp_path: Path) -> None:
        orphan = subprocess.Popen(["sleep", "60"])
        try:
            record = {
                "up_pid": 999_999_999,
                "processes": {
                    "auth": {
                        "name": "auth",
                        "pid": orphan.pid,
                        "started": proc_start_time(orphan.pid),
                    }
                },
            }
            (tmp_path / "run.json").write_text(json.dumps(record))

            result = empora("down", env=moved_ports(tmp_path))

            assert result.returncode == 0, result.stdout + result.stderr
            assert f"stopped auth (pid {orphan.pid})" in result.stdout
            orphan.wait(10)
            assert not pid_alive(orphan.pid)
            assert not (tmp_path / "run.json").exists()
        finally:
            orphan.kill()
            orphan.wait()


class TestCreateAdmin:
    def test_refuses_a_password_that_is_too_short(self, tmp_path: Path, infra: TestInfra) -> None:
        env = {**moved_ports(tmp_path), "DATABASE_URL": infra.admin_database_url}

        result = empora("create-admin", "--email", "a@example.com", "--password", "x", env=env)

        assert result.returncode == 2
        assert "password" in result.stdout
