"""The pure parts of infrastructure discovery: .env, URLs, records."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from empora_common import infra


class TestReadDotenv:
    def test_reads_keys_values_quotes_and_exports(self, tmp_path: Path) -> None:
        path = tmp_path / ".env"
        path.write_text(
            "# a comment\n\nDATABASE_URL=postgresql://x@h/db\nexport REDIS_URL='redis://h:1/2'\n"
            'AMQP_URL="amqp://g:g@h:5672/v"\nnot a line\n'
        )

        assert infra.read_dotenv(path) == {
            "DATABASE_URL": "postgresql://x@h/db",
            "REDIS_URL": "redis://h:1/2",
            "AMQP_URL": "amqp://g:g@h:5672/v",
        }

    def test_a_missing_file_is_empty(self, tmp_path: Path) -> None:
        assert infra.read_dotenv(tmp_path / ".env") == {}


class TestConfiguredValue:
    def test_prefers_the_environment_over_dotenv(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        (tmp_path / ".env").write_text("REDIS_URL=redis://from-file:6379/0\n")

        assert infra.configured_value("REDIS_URL", {"REDIS_URL": "redis://env/1"}) == (
            "redis://env/1"
        )
        assert infra.configured_value("REDIS_URL", {}) == "redis://from-file:6379/0"
        assert infra.configured_value("AMQP_URL", {}) is None


class TestMaskUrl:
    def test_hides_the_password(self) -> None:
        assert infra.mask_url("amqp://user:secret@h:5672/v") == "amqp://user:***@h:5672/v"

    def test_leaves_a_url_without_password(self) -> None:
        assert infra.mask_url("redis://h:6379/0") == "redis://h:6379/0"


class TestPrivateServer:
    def test_a_reused_pid_is_not_the_server(self) -> None:
        proc = subprocess.Popen(["sleep", "30"])
        try:
            started = infra.proc_start_time(proc.pid)
            assert started is not None
            same = infra.PrivateServer("redis", proc.pid, 1, "/d", "redis://x", started=started)
            other = infra.PrivateServer(
                "redis", proc.pid, 1, "/d", "redis://x", started=started + 1
            )

            assert same.alive()
            assert not other.alive()
        finally:
            proc.kill()
            proc.wait()

    def test_a_dead_pid_is_not_alive(self) -> None:
        assert not infra.PrivateServer("redis", 999_999_999, 1, "/d", "redis://x").alive()


class TestRecords:
    def test_stop_infra_clears_a_record_whose_servers_are_gone(self, tmp_path: Path) -> None:
        record = {
            "servers": {
                "redis": {
                    "kind": "redis",
                    "pid": 999_999_999,
                    "port": 1,
                    "data_dir": str(tmp_path),
                    "url": "redis://127.0.0.1:1/0",
                }
            }
        }
        (tmp_path / "infra.json").write_text(json.dumps(record))

        assert set(infra.recorded_servers(tmp_path)) == {"redis"}
        infra.stop_infra(tmp_path)

        assert infra.recorded_servers(tmp_path) == {}
        assert not (tmp_path / "infra.json").exists()

    def test_state_dir_comes_from_the_environment(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EMPORA_STATE_DIR", str(tmp_path))

        assert infra.resolve_state_dir() == tmp_path.resolve()
        assert os.environ["EMPORA_STATE_DIR"] == str(tmp_path)
