"""run.json: the running ``up`` and its children."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from empora_cli.state import ProcessRecord, RunRecord, RunState
from empora_common.infra import proc_start_time


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


class TestRunState:
    def test_reads_what_it_wrote(self, tmp_path: Path) -> None:
        state = RunState(tmp_path)
        record = RunRecord(
            up_pid=12,
            up_started=34,
            host="127.0.0.1",
            ports={"gateway": 3001},
            processes={"auth": ProcessRecord("auth", 56, 78, 3002, "/x.log")},
        )

        state.write(record)

        assert state.read() == record

    def test_reads_an_empty_record_when_nothing_ran(self, tmp_path: Path) -> None:
        assert RunState(tmp_path).read() == RunRecord()

    def test_claim_records_this_process_as_running(self, tmp_path: Path) -> None:
        record = RunState(tmp_path).claim("127.0.0.1", {"gateway": 3001})

        assert record.up_pid == os.getpid()
        assert RunState(tmp_path).read().up_alive()

    def test_kill_stale_stops_children_of_a_crashed_up(
        self, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        state = RunState(tmp_path)
        child = ProcessRecord("auth", sleeper.pid, proc_start_time(sleeper.pid), 3002)
        state.write(RunRecord(up_pid=999_999_999, processes={"auth": child}))

        killed = state.kill_stale()

        assert killed == [f"auth (pid {sleeper.pid})"]
        assert sleeper.wait(5) is not None
        assert not state.path.exists()

    def test_kill_stale_spares_a_process_that_reused_the_pid(
        self, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        state = RunState(tmp_path)
        started = proc_start_time(sleeper.pid)
        assert started is not None
        child = ProcessRecord("auth", sleeper.pid, started - 1, 3002)
        state.write(RunRecord(processes={"auth": child}))

        assert state.kill_stale() == []
        assert sleeper.poll() is None


class TestProcessRecord:
    def test_a_gone_process_is_not_alive(self, sleeper: subprocess.Popen[bytes]) -> None:
        record = ProcessRecord("x", sleeper.pid, proc_start_time(sleeper.pid))
        assert record.alive()

        sleeper.kill()
        sleeper.wait()

        assert not record.alive()
