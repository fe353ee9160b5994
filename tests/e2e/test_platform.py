"""The platform's life cycle on a fresh machine: ``empora up --private-infra`` starts its own
PostgreSQL, Redis and RabbitMQ beside the machine's, brings the six services up, reports a
killed service, and leaves no process behind when stopped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from empora_common.constants import ALL_SERVICES, SERVICES
from empora_common.infra import free_port, pid_alive
from empora_common.paths import repo_root

pytestmark = pytest.mark.slow

UP_TIMEOUT = 240.0
# Variables that would point `up` at the machine's servers or mail server.
CLEARED = (
    "DATABASE_URL",
    "REDIS_URL",
    "AMQP_URL",
    "AMQP_PREFIX",
    "REDIS_PREFIX",
    "SMTP_HOST",
    "SMTP_PORT",
    "PUBLIC_BASE_URL",
    "INTERNAL_API_TOKEN",
    *(f"{s.upper()}_URL" for s in ALL_SERVICES),
)


@dataclass
class RunningPlatform:
    """An ``empora up --private-infra`` child process and where it keeps its state."""

    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    state: Path
    log: Path

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.env['GATEWAY_PORT']}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def run_json(self) -> dict[str, Any]:
        return dict(json.loads((self.state / "run.json").read_text()))

    def infra_json(self) -> dict[str, Any]:
        return dict(json.loads((self.state / "infra.json").read_text()))

    def empora(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "empora_cli", *args],
            env=self.env,
            cwd=repo_root(),
            capture_output=True,
            text=True,
            timeout=120,
        )


def get_json(url: str, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


def platform_pids(platform: RunningPlatform) -> dict[str, int]:
    """Every process the platform started: services, sink, private servers, epmd."""
    pids = {name: p["pid"] for name, p in platform.run_json()["processes"].items()}
    for kind, server in platform.infra_json()["servers"].items():
        pids[kind] = server["pid"]
        if server["extra"].get("epmd_pid"):
            pids[f"{kind} epmd"] = server["extra"]["epmd_pid"]
    return pids


def processes_mentioning(text: str) -> list[str]:
    """Live processes whose command line mentions ``text`` (the private state folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and pid_alive(int(proc.name)):
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


def stop_platform(platform: RunningPlatform) -> None:
    """SIGTERM ``up`` (like Ctrl-C) and wait for its clean shutdown."""
    if platform.proc.poll() is None:
        platform.proc.send_signal(signal.SIGTERM)
        try:
            platform.proc.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(platform.proc.pid, signal.SIGKILL)
            platform.proc.wait(10)


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    # Under /tmp (traversable by the private PostgreSQL's user), not pytest's private tmp.
    state = Path(tempfile.mkdtemp(prefix="empora-e2e-"))
    state.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update({f"{s.upper()}_PORT": str(free_port()) for s in ALL_SERVICES})
    env.update(
        {
            "EMPORA_STATE_DIR": str(state / "state"),
            "SMTP_SINK_PORT": str(free_port()),
            "SMTP_SINK_HTTP_PORT": str(free_port()),
            "EMPORA_ADMIN_EMAIL": "admin@e2e.example.com",
            "EMPORA_ADMIN_PASSWORD": "e2e-admin-passphrase",
            "EMPORA_UP_TIMEOUT": str(UP_TIMEOUT - 60),
            "LOG_LEVEL": "WARNING",
        }
    )
    log = state / "up.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "empora_cli", "up", "--private-infra"],
            env=env,
            cwd=repo_root(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = RunningPlatform(proc, env, state / "state", log)
    try:
        deadline = time.monotonic() + UP_TIMEOUT
        while "Empora is up." not in running.output():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"empora up did not come up:\n{running.output()[-5000:]}")
            time.sleep(0.5)
        yield running
    finally:
        stop_platform(running)
        shutil.rmtree(state, ignore_errors=True)


class TestPrivatePlatform:
    def test_starts_private_servers_beside_the_machines(self, platform: RunningPlatform) -> None:
        infra = platform.infra_json()

        assert infra["sources"] == {
            "postgres": "private",
            "redis": "private",
            "rabbitmq": "private",
        }
        ports = {kind: server["port"] for kind, server in infra["servers"].items()}
        assert set(ports) == {"postgres", "redis", "rabbitmq"}
        assert not {5432, 6379, 5672} & set(ports.values())
        assert all(pid_alive(pid) for pid in platform_pids(platform).values())

    def test_gateway_reports_all_six_services_ok(self, platform: RunningPlatform) -> None:
        status, body = get_json(platform.gateway + "/api/health")

        assert status == 200, body
        assert body["status"] == "ok"
        assert {name: body["services"][name]["status"] for name in SERVICES} == dict.fromkeys(
            SERVICES, "ok"
        )

    def test_status_shows_everything_up(self, platform: RunningPlatform) -> None:
        result = platform.empora("status")

        assert result.returncode == 0, result.stdout
        for name in (*ALL_SERVICES, "postgres", "redis", "rabbitmq"):
            assert name in result.stdout

    def test_a_killed_service_makes_health_503_naming_it(self, platform: RunningPlatform) -> None:
        cart_pid = platform.run_json()["processes"]["cart"]["pid"]
        os.kill(cart_pid, signal.SIGKILL)

        deadline = time.monotonic() + 30
        status, body = get_json(platform.gateway + "/api/health")
        while status != 503 and time.monotonic() < deadline:
            time.sleep(0.2)
            status, body = get_json(platform.gateway + "/api/health")

        assert status == 503, body
        assert body["services"]["cart"]["status"] != "ok"
        assert all(body["services"][name]["status"] == "ok" for name in SERVICES if name != "cart")
        result = platform.empora("status")
        assert result.returncode == 1
        cart_line = next(
            line for line in result.stdout.splitlines() if "service" in line and " cart " in line
        )
        assert "down" in cart_line

    def test_stopping_up_leaves_no_process_behind(self, platform: RunningPlatform) -> None:
        pids = platform_pids(platform)
        assert {"postgres", "redis", "rabbitmq", "gateway", "smtp-sink"} <= set(pids)

        stop_platform(platform)

        assert platform.proc.returncode == 0, platform.output()[-3000:]
        assert {name: pid for name, pid in pids.items() if pid_alive(pid)} == {}
        assert processes_mentioning(str(platform.state)) == []
        assert not (platform.state / "run.json").exists()
        assert not (platform.state / "infra.json").exists()
