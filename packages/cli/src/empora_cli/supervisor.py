"""Child processes of ``empora up``: started with their logs in files, stopped together."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import importlib.util
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from empora_cli.state import ProcessRecord
from empora_common.infra import proc_start_time
from empora_common.server import HTTP_PROTOCOL

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent dies (an ``up`` killed with -9)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def port_in_use(host: str, port: int) -> bool:
    """True when something listens on the port or binding it fails."""
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    with (
        contextlib.suppress(OSError),
        socket.create_connection((connect_host, port), timeout=0.3),
    ):
        return True
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def wait_port(host: str, port: int, timeout: float, alive: Callable[[], bool]) -> bool:
    """Wait until the port accepts connections (False on timeout or when the process died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection((host, port), timeout=0.3),
        ):
            return True
        if not alive():
            return False
        time.sleep(0.1)
    return False


def uvicorn_command(service: str, host: str, port: int) -> list[str]:
    """The command line of one service process."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"empora_{service}.app:create_app",
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--no-access-log",
        # The services decide themselves whose X-Forwarded-For to believe (TRUSTED_PROXIES).
        "--no-proxy-headers",
        # uvicorn's httptools protocol sending each response in one write.
        "--http",
        HTTP_PROTOCOL,
        "--timeout-graceful-shutdown",
        "5",
    ]


def service_command(service: str, host: str, port: int) -> list[str]:
    """``python -m empora_<name>`` where the service ships its own tuned runner, else uvicorn.

    A runner reads its host and port from its settings (``EMPORA_HOST``, ``<SERVICE>_PORT``),
    which ``up`` sets to the same values.
    """
    try:
        runner = importlib.util.find_spec(f"empora_{service}.__main__")
    except (ImportError, ValueError):
        runner = None
    if runner is not None:
        return [sys.executable, "-m", f"empora_{service}"]
    return uvicorn_command(service, host, port)


@dataclass
class Child:
    """One process ``up`` started."""

    name: str
    cmd: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    cwd: Path
    port: int | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False)
    reported_exit: bool = field(default=False, init=False)

    def start(self) -> None:
        """Start it (from the main thread: the death signal follows the starting thread)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            list(self.cmd),
            env=dict(self.env),
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )

    @property
    def pid(self) -> int | None:
        """The process id once started."""
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """Its exit status once it ended."""
        return self.proc.poll() if self.proc is not None else None

    def record(self) -> ProcessRecord:
        """What ``run.json`` keeps about it."""
        pid = self.pid or 0
        return ProcessRecord(
            name=self.name,
            pid=pid,
            started=proc_start_time(pid),
            port=self.port,
            log=str(self.log_path),
        )

    def log_tail(self, lines: int = 20) -> str:
        """The end of its log file."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def terminate(self) -> None:
        """Send SIGTERM (returns at once)."""
        if self.alive() and self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()

    def reap(self, deadline: float) -> None:
        """Wait until ``deadline`` for it to end, then SIGKILL it; close its log."""
        if self.proc is not None:
            try:
                self.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None


def stop_all(children: Sequence[Child], timeout: float = 15.0) -> None:
    """SIGTERM every child at once, wait up to ``timeout``, SIGKILL the rest."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        child.reap(deadline)
