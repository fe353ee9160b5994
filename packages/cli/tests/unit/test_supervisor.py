"""Child processes: ports, start, stop."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from empora_cli.supervisor import (
    Child,
    port_in_use,
    service_command,
    stop_all,
    uvicorn_command,
    wait_port,
)
from empora_common.infra import free_port, pid_alive, wait_pid_gone


class TestPortInUse:
    def test_sees_a_listening_socket(self) -> None:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            port = listener.getsockname()[1]

            assert port_in_use("127.0.0.1", port)

    def test_a_free_port_is_not_in_use(self) -> None:
        assert not port_in_use("127.0.0.1", free_port())


class TestServiceCommand:
    def test_uses_the_services_own_runner_when_it_has_one(self) -> None:
        assert service_command("gateway", "127.0.0.1", 3001) == [
            sys.executable,
            "-m",
            "empora_gateway",
        ]

    def test_runs_uvicorn_on_the_factory_otherwise(self) -> None:
        assert service_command("cart", "127.0.0.1", 3004) == uvicorn_command(
            "cart", "127.0.0.1", 3004
        )


class TestUvicornCommand:
    def test_runs_the_service_factory_on_host_and_port(self) -> None:
        cmd = uvicorn_command("order", "127.0.0.1", 3005)

        assert cmd[:3] == [sys.executable, "-m", "uvicorn"]
        assert "empora_order.app:create_app" in cmd
        assert "--factory" in cmd
        assert cmd[cmd.index("--port") + 1] == "3005"
        assert cmd[cmd.index("--host") + 1] == "127.0.0.1"


def python_child(tmp_path: Path, name: str, code: str) -> Child:
    return Child(name, [sys.executable, "-c", code], {}, tmp_path / f"{name}.log", tmp_path)


class TestChild:
    def test_logs_its_output_to_its_file(self, tmp_path: Path) -> None:
        child = python_child(tmp_path, "echo", "print('hello from the child')")

        child.start()
        assert child.proc is not None
        child.proc.wait(10)
        stop_all([child], timeout=10)

        assert "hello from the child" in child.log_tail()
        assert child.returncode == 0
        assert child.record().log == str(tmp_path / "echo.log")

    def test_stop_all_kills_a_child_that_ignores_sigterm(self, tmp_path: Path) -> None:
        stubborn = python_child(
            tmp_path,
            "stubborn",
            "import signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)",
        )
        polite = python_child(tmp_path, "polite", "import time; time.sleep(60)")
        stubborn.start()
        polite.start()
        deadline = time.monotonic() + 10
        while "ready" not in stubborn.log_tail() and time.monotonic() < deadline:
            time.sleep(0.05)

        stop_all([stubborn, polite], timeout=1)

        assert not stubborn.alive()
        assert not polite.alive()
        assert stubborn.returncode == -9


class TestWaitPort:
    def test_gives_up_when_the_process_died(self) -> None:
        assert not wait_port("127.0.0.1", free_port(), 10, alive=lambda: False)

    def test_sees_an_open_port(self) -> None:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()

            assert wait_port("127.0.0.1", listener.getsockname()[1], 5, alive=lambda: True)


class TestDieWithParent:
    def test_children_end_when_up_is_killed(self, tmp_path: Path) -> None:
        script = (
            "import sys, time\n"
            "from pathlib import Path\n"
            "from empora_cli.supervisor import Child\n"
            f"child = Child('sleeper', ['sleep', '60'], {{}}, Path({str(tmp_path)!r}) / 's.log',"
            f" Path({str(tmp_path)!r}))\n"
            "child.start()\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(60)\n"
        )
        parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert pid_alive(child_pid)

        parent.kill()
        parent.wait()

        assert wait_pid_gone(child_pid, 10)
