"""What a running ``empora up`` recorded in ``<state>/run.json``: its own pid and its children."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from empora_common.infra import pid_alive, proc_start_time, terminate_pid

RUN_FILE = "run.json"


@dataclass
class ProcessRecord:
    """One child process: its pid, the kernel's start time of it, and its port."""

    name: str
    pid: int
    started: int | None
    port: int | None = None
    log: str | None = None

    def alive(self) -> bool:
        """True when the recorded process still runs (a reused pid does not count)."""
        if not pid_alive(self.pid):
            return False
        return self.started is None or proc_start_time(self.pid) == self.started


@dataclass
class RunRecord:
    """The contents of ``run.json``."""

    up_pid: int | None = None
    up_started: int | None = None
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, ProcessRecord] = field(default_factory=dict)

    def up_alive(self) -> bool:
        """True when the ``empora up`` that wrote this still runs."""
        if self.up_pid is None or not pid_alive(self.up_pid):
            return False
        return self.up_started is None or proc_start_time(self.up_pid) == self.up_started


class RunState:
    """Reads and writes ``<state>/run.json``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / RUN_FILE

    def read(self) -> RunRecord:
        """The record, or an empty one."""
        try:
            raw: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return RunRecord()
        processes = {
            name: ProcessRecord(**value) for name, value in raw.get("processes", {}).items()
        }
        return RunRecord(
            up_pid=raw.get("up_pid"),
            up_started=raw.get("up_started"),
            host=raw.get("host", "127.0.0.1"),
            ports={k: int(v) for k, v in raw.get("ports", {}).items()},
            processes=processes,
        )

    def write(self, record: RunRecord) -> None:
        """Replace the record atomically."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        data = asdict(record)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.path)

    def claim(self, host: str, ports: dict[str, int]) -> RunRecord:
        """Record this process as the running ``empora up``."""
        record = RunRecord(
            up_pid=os.getpid(),
            up_started=proc_start_time(os.getpid()),
            host=host,
            ports=dict(ports),
        )
        self.write(record)
        return record

    def clear(self) -> None:
        """Forget everything (after a clean stop)."""
        self.path.unlink(missing_ok=True)

    def kill_stale(self) -> list[str]:
        """Stop child processes left behind by an ``empora up`` that crashed."""
        record = self.read()
        killed: list[str] = []
        for name, proc in record.processes.items():
            if proc.alive():
                terminate_pid(proc.pid, timeout=10.0)
                killed.append(f"{name} (pid {proc.pid})")
        with contextlib.suppress(OSError):
            self.clear()
        return killed
