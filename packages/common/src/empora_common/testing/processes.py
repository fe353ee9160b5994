"""Services as real OS processes (for tests that kill, restart or run several instances)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from empora_common.server import HTTP_PROTOCOL
from empora_common.testing.infra import free_port


class ServiceProcess:
    """``uvicorn empora_<service>.app:create_app --factory`` in a child process.

    ``env`` holds settings as environment variables (the same names as in production).
    """

    def __init__(
        self,
        service: str,
        env: dict[str, Any],
        *,
        port: int | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.service = service
        self.port = port or free_port()
        self.env = {k: str(v) for k, v in env.items()}
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        """Start the process (returns at once; call ``wait_ready``)."""
        env = {**os.environ, **self.env, f"{self.service.upper()}_PORT": str(self.port)}
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            f"empora_{self.service}.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            "--no-proxy-headers",
            "--http",
            HTTP_PROTOCOL,
            "--log-level",
            "warning",
        ]
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_dir / f"{self.service}-{self.port}.log", "ab")  # noqa: SIM115
            out: Any = self._log
        else:
            out = subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        return self

    async def wait_ready(self, timeout: float = 30.0, path: str = "/health/live") -> ServiceProcess:
        """Wait until the process answers ``path`` with 200."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.service} exited with {self.proc.returncode}")
                try:
                    async with session.get(self.url + path) as resp:
                        if resp.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.service} not ready after {timeout}s")

    def kill(self) -> None:
        """SIGKILL: a crash, no clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 10 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None
