"""What a `leadstate dev` that died without its own shutdown (kill -9, a closed terminal, the OOM killer)
left running, found again at the next start of the same data dir: PostgreSQL (daemonised by pgserver)
is reused, the broker (in a session of its own) is stopped so that this run starts it afresh, and
services still shutting down are stopped. Only processes that are provably this data dir's are touched:
the pid, start time and command line the record names, or, for a broker from a run that had no record
yet, a `tansu` or `java … kafka.Kafka` process whose command line or log lives in the data dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psutil

from .devrecord import DevRecord, read_record
from .processes import ProcessId

BROKER, POSTGRES = "broker", "postgres"


def reclaim_previous_run(data_dir: Path, broker_port: int | None, say: Callable[[str], None]) -> None:
    previous = read_record(data_dir)
    left = _left_running(previous, data_dir, broker_port)
    if not left:
        return
    owner = f" (pid {previous.owner.pid})" if previous is not None else ""
    what = ", ".join(f"{_label(name)} (pid {proc.pid})" for name, proc in left.items())
    services = [name for name in left if name not in (POSTGRES, BROKER)]
    reuse_postgres = POSTGRES in left and postgres_ready(data_dir)
    plan = [("reusing" if reuse_postgres else "restarting") + " PostgreSQL"] if POSTGRES in left else []
    plan += ["restarting the broker"] if BROKER in left else []
    plan += [f"stopping {', '.join(services)}"] if services else []
    say(f"leadstate: the previous run{owner} left {what} running: {'; '.join(plan)}")
    for name, proc in left.items():
        if name != POSTGRES or not reuse_postgres:
            proc.stop(timeout_s=20 if name in (BROKER, POSTGRES) else 15)


def postgres_ready(data_dir: Path) -> bool:
    """The postmaster says it accepts connections (the status line of postmaster.pid): healthy enough
    for pgserver to join it; one stuck starting or shutting down is restarted instead."""
    try:
        lines = (data_dir / "postgres" / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[7].strip() == "ready"


def _left_running(
    previous: DevRecord | None, data_dir: Path, broker_port: int | None
) -> dict[str, ProcessId]:
    left = {n: p for n, p in (previous.processes if previous else {}).items() if p.alive()}
    if BROKER in left and not looks_like_broker(left[BROKER].cmdline, left[BROKER].pid, data_dir):
        del left[BROKER]  # recorded as ours but no longer looks like a broker: not ours to stop
    if BROKER not in left and broker_port is not None:
        holder = _listener(broker_port)
        if holder is not None and looks_like_broker(holder.cmdline, holder.pid, data_dir):
            left[BROKER] = holder
    return left


def looks_like_broker(cmdline: tuple[str, ...], pid: int, data_dir: Path) -> bool:
    """A Tansu or Apache Kafka broker process that belongs to this data dir (by argument or log file)."""
    if not cmdline:
        return False
    tansu = os.path.basename(cmdline[0]).startswith("tansu") and "broker" in cmdline
    kafka = os.path.basename(cmdline[0]).startswith("java") and "kafka.Kafka" in cmdline
    return (tansu or kafka) and _belongs_to(cmdline, pid, data_dir)


def _belongs_to(cmdline: tuple[str, ...], pid: int, data_dir: Path) -> bool:
    root = str(data_dir.resolve()) + os.sep
    if any(root in arg for arg in cmdline):
        return True
    try:
        return os.readlink(f"/proc/{pid}/fd/1").startswith(root)
    except OSError:
        return False


def _listener(port: int) -> ProcessId | None:
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return ProcessId.of(conn.pid)
    return None


def _label(name: str) -> str:
    return "PostgreSQL" if name == POSTGRES else name
