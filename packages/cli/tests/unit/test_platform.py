"""The checks ``empora up`` makes before starting anything, and the env it gives services."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from empora_cli.config import PlatformConfig
from empora_cli.platform import Platform, PlatformError, not_ok_services
from empora_cli.state import RunRecord, RunState
from empora_common.infra import InfraUrls, free_port, proc_start_time


def make_config(tmp_path: Path, **env: str) -> PlatformConfig:
    ports = {f"{s}_PORT": str(free_port()) for s in ("GATEWAY", "AUTH", "PRODUCT")}
    ports |= {f"{s}_PORT": str(free_port()) for s in ("CART", "ORDER", "NOTIFICATION")}
    ports |= {"SMTP_SINK_PORT": str(free_port()), "SMTP_SINK_HTTP_PORT": str(free_port())}
    return PlatformConfig.from_env({"EMPORA_STATE_DIR": str(tmp_path), **ports, **env})


INFRA = InfraUrls(
    "postgresql://postgres@127.0.0.1:5432/empora",
    "redis://127.0.0.1:6379/3",
    "amqp://guest:guest@127.0.0.1:5672/vhost",
)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


class TestCheckPorts:
    def test_passes_when_every_port_is_free(self, tmp_path: Path) -> None:
        Platform(make_config(tmp_path)).check_ports()

    def test_refuses_a_taken_port_naming_it_and_its_setting(
        self, tmp_path: Path, listener: socket.socket
    ) -> None:
        port = listener.getsockname()[1]
        config = make_config(tmp_path, CART_PORT=str(port))

        with pytest.raises(PlatformError, match=rf"{port} \(cart; move it with CART_PORT\)"):
            Platform(config).check_ports()

    def test_refuses_a_taken_smtp_sink_port(self, tmp_path: Path, listener: socket.socket) -> None:
        port = listener.getsockname()[1]
        config = make_config(tmp_path, SMTP_SINK_PORT=str(port))

        with pytest.raises(PlatformError, match="SMTP_SINK_PORT"):
            Platform(config).check_ports()

    def test_ignores_the_sink_ports_when_smtp_host_is_set(
        self, tmp_path: Path, listener: socket.socket
    ) -> None:
        port = listener.getsockname()[1]
        config = make_config(tmp_path, SMTP_SINK_PORT=str(port), SMTP_HOST="mail.example.com")

        Platform(config).check_ports()


class TestCheckNotRunning:
    def test_refuses_while_another_up_runs(self, tmp_path: Path) -> None:
        other = subprocess.Popen(["sleep", "60"])
        try:
            RunState(tmp_path).write(
                RunRecord(up_pid=other.pid, up_started=proc_start_time(other.pid))
            )

            with pytest.raises(PlatformError, match=f"already running \\(pid {other.pid}\\)"):
                Platform(make_config(tmp_path)).check_not_running()
        finally:
            other.kill()
            other.wait()

    def test_clears_the_record_of_a_crashed_up(self, tmp_path: Path) -> None:
        RunState(tmp_path).write(RunRecord(up_pid=999_999_999))

        Platform(make_config(tmp_path)).check_not_running()

        assert not (tmp_path / "run.json").exists()

    def test_stop_leaves_another_ups_record_alone(self, tmp_path: Path) -> None:
        RunState(tmp_path).write(RunRecord(up_pid=os.getppid()))

        Platform(make_config(tmp_path)).stop()

        assert RunState(tmp_path).read().up_pid == os.getppid()


class TestServiceEnv:
    def test_points_services_at_each_other_and_the_infra(self, tmp_path: Path) -> None:
        config = make_config(tmp_path)

        env = Platform(config).service_env(INFRA, {"INTERNAL_API_TOKEN": "tok"})

        assert env["DATABASE_URL"] == INFRA.database_url
        assert env["REDIS_URL"] == "redis://127.0.0.1:6379/3"
        assert env["AMQP_URL"] == "amqp://guest:guest@127.0.0.1:5672/vhost"
        assert env["INTERNAL_API_TOKEN"] == "tok"
        assert env["ORDER_PORT"] == str(config.ports["order"])
        assert env["PRODUCT_URL"] == f"http://127.0.0.1:{config.ports['product']}"
        assert env["PUBLIC_BASE_URL"] == f"http://localhost:{config.ports['gateway']}"

    def test_sends_email_to_the_local_sink_without_smtp_host(self, tmp_path: Path) -> None:
        config = make_config(tmp_path)

        env = Platform(config).service_env(INFRA, {})

        assert env["SMTP_HOST"] == "127.0.0.1"
        assert env["SMTP_PORT"] == str(config.sink_port)

    def test_keeps_a_configured_smtp_server(self, tmp_path: Path) -> None:
        config = make_config(tmp_path, SMTP_HOST="mail.example.com", SMTP_PORT="2525")

        env = Platform(config).service_env(INFRA, {})

        assert (env["SMTP_HOST"], env["SMTP_PORT"]) == ("mail.example.com", "2525")

    def test_keeps_a_configured_public_base_url(self, tmp_path: Path) -> None:
        config = make_config(tmp_path, PUBLIC_BASE_URL="https://shop.example.com")

        env = Platform(config).service_env(INFRA, {})

        assert env["PUBLIC_BASE_URL"] == "https://shop.example.com"


class TestNotOkServices:
    def test_names_each_service_that_is_not_ok_with_its_failing_checks(self) -> None:
        body = {
            "status": "down",
            "services": {
                "auth": {"status": "ok", "checks": {"database": "ok"}},
                "product": {"status": "down", "checks": {"database": "timeout", "redis": "ok"}},
                "cart": {"status": "ok"},
                "order": {"status": "degraded", "checks": {"broker": "down"}},
            },
        }

        assert not_ok_services(body) == {
            "product": "down (database=timeout)",
            "order": "degraded (broker=down)",
            "notification": "missing from the gateway's answer",
        }
