"""Reclaiming what an interrupted run left: only directories whose owner is gone, only processes that
provably belong to them; a pid is never trusted on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import psutil

from services.common.processes import OWNER_FILE, ProcessId, private_dir, reclaim_abandoned

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _sleeper_logging_to(directory: Path) -> subprocess.Popen[bytes]:
    """A stand-in for Tansu: its command line does not name the directory, its output goes there."""
    with open(directory / "broker.log", "wb") as log:
        return subprocess.Popen(SLEEPER, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _gone_owner() -> ProcessId:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    found = ProcessId.of(process.pid)
    process.wait()
    assert found is not None and not found.alive()
    return found


def test_a_dead_owners_directory_is_reclaimed_and_a_live_ones_is_not() -> None:
    prefix = f"leadstate-unit-{uuid.uuid4().hex[:8]}-"
    abandoned, mine = private_dir(prefix), private_dir(prefix)
    (abandoned / OWNER_FILE).write_text(json.dumps(_gone_owner().to_json()))
    stray, kept = _sleeper_logging_to(abandoned), _sleeper_logging_to(mine)
    bystander = subprocess.Popen(SLEEPER)  # same command line, nothing to do with either directory
    try:
        assert reclaim_abandoned(prefix) == [abandoned]
        assert stray.wait(20) is not None and not abandoned.exists()
        assert kept.poll() is None and bystander.poll() is None and mine.exists()
    finally:
        for process in (stray, kept, bystander):
            process.kill()
            process.wait()
        reclaim_abandoned(prefix)
        (mine / OWNER_FILE).unlink()
        (mine / "broker.log").unlink()
        mine.rmdir()


def test_a_recorded_pid_is_ours_only_with_its_start_time_and_command_line() -> None:
    process = subprocess.Popen(SLEEPER)
    try:
        found = ProcessId.of(process.pid)
        assert found is not None and found.alive()
        other_start = ProcessId(found.pid, found.create_time - 100, found.cmdline)
        other_command = ProcessId(found.pid, found.create_time, (*found.cmdline, "x"))
        assert not other_start.alive() and not other_command.alive()
        other_command.stop(timeout_s=1)
        assert psutil.Process(process.pid).is_running() and process.poll() is None
        found.stop(timeout_s=10)
        assert process.poll() is not None
    finally:
        process.kill()
        process.wait()
