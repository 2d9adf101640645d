"""Processes leadstate started and may have to find again after a crash: each is known by its pid, start
time and command line together, so a pid the kernel has since given to another program is never signalled.

The dev stack records its processes with these (services/common/devrecord.py); test fixtures and
benchmarks take their scratch directories through `private_dir`, which first reclaims the directories
of runs that were interrupted (their owner process is gone): their PostgreSQL and broker are stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

OWNER_FILE = ".leadstate-owner.json"


@dataclass(frozen=True)
class ProcessId:
    """Who a process is, not only its number: pid, start time (seconds since the epoch) and argv."""

    pid: int
    create_time: float
    cmdline: tuple[str, ...]

    @classmethod
    def of(cls, pid: int) -> ProcessId | None:
        """None when there is no such process. A process caught in the middle of its exec (Popen has
        returned, the new program's arguments are not mapped yet) shows an empty command line for a
        moment: read again until it has one (up to a second), or a record would never match it later."""
        try:
            proc = psutil.Process(pid)
            cmdline = tuple(proc.cmdline())
            deadline = time.monotonic() + 1.0
            while not cmdline and time.monotonic() < deadline and proc.status() != psutil.STATUS_ZOMBIE:
                time.sleep(0.01)
                cmdline = tuple(proc.cmdline())
            return cls(pid, proc.create_time(), cmdline)
        except psutil.Error:
            return None

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> ProcessId:
        return cls(int(raw["pid"]), float(raw["create_time"]), tuple(raw["cmdline"]))  # type: ignore[arg-type,call-overload]

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "cmdline": list(self.cmdline)}

    def alive(self) -> bool:
        """Still the very process that was recorded (not a zombie, not a reused pid)."""
        now = ProcessId.of(self.pid)
        if now is None or now.cmdline != self.cmdline or abs(now.create_time - self.create_time) > 1:
            return False
        try:
            return psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def stop(self, timeout_s: float = 15, sig: int = signal.SIGTERM) -> None:
        """`sig`, then SIGKILL after timeout_s; nothing when it is no longer the recorded process."""
        if self.alive():
            stop_processes([psutil.Process(self.pid)], timeout_s, sig)


def stop_processes(procs: list[psutil.Process], timeout_s: float, sig: int = signal.SIGTERM) -> None:
    for proc in procs:
        try:
            # PostgreSQL's "fast" shutdown is SIGINT; its SIGTERM waits for every client to leave.
            proc.send_signal(signal.SIGINT if proc.name() == "postgres" else sig)
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=timeout_s)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)


def processes_using(directory: Path) -> list[psutil.Process]:
    """Processes whose command line names a path under `directory` (a PostgreSQL postmaster's `-D`,
    a Kafka broker's `server.properties`) or whose output goes to a file there (Tansu's log)."""
    root = str(directory.resolve())
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid == os.getpid():
            continue
        argv = proc.info["cmdline"] or []
        if any(root in arg for arg in argv) or _stdout_under(proc.pid, root):
            found.append(proc)
    return found


def _stdout_under(pid: int, root: str) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/fd/1").startswith(root + os.sep)
    except OSError:
        return False


def private_dir(prefix: str) -> Path:
    """A new directory in the system's temp dir, owned by this process. Directories of the same prefix
    whose owner died without cleaning up (an interrupted `make test` or `bench`) are reclaimed first."""
    reclaim_abandoned(prefix)
    path = Path(tempfile.mkdtemp(prefix=prefix))
    me = ProcessId.of(os.getpid())
    assert me is not None
    (path / OWNER_FILE).write_text(json.dumps(me.to_json()))
    return path


def reclaim_abandoned(prefix: str) -> list[Path]:
    """Stop what runs from, and remove, every `prefix*` temp dir whose recorded owner is gone. A
    directory without an owner file, or whose owner lives (another session, in parallel), is left alone."""
    reclaimed = []
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            owner = ProcessId.from_json(json.loads((path / OWNER_FILE).read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if owner.alive():
            continue
        stop_processes(processes_using(path), timeout_s=15)
        shutil.rmtree(path, ignore_errors=True)
        reclaimed.append(path)
    return reclaimed
