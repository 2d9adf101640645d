"""Helpers for the tests that run `leadstate dev` as a user does: a temp data dir, free ports, its
output in a log file, and what it has running (services, broker, PostgreSQL) read from the system."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from services.common.processes import processes_using
from services.common.reclaim import looks_like_broker
from tests.conftest import KINDS
from tests.support import ROOT, free_port


def start_dev(env: dict[str, str], log: Path, *, own_group: bool = False) -> subprocess.Popen[bytes]:
    """`own_group`: in a session (and process group) of its own, for a test that kills the group."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "dev"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=own_group,
        )


def wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if text in content:
            return content
        if process.poll() is not None:
            raise AssertionError(f"leadstate dev exited ({process.returncode}):\n{content[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not printed within {timeout_s}s:\n{log.read_text()[-3000:]}")


def run_dev(env: dict[str, str], *, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """`leadstate dev` that is expected to refuse to start: its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "dev"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout_s,
    )


def dev_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTATE_")}
    env.update(
        LEADSTATE_DATA_DIR=str(data_dir),
        LEADSTATE_INGEST_PORT=str(free_port()),
        LEADSTATE_HANDOFF_PORT=str(free_port()),
        LEADSTATE_QUALIFIER_PORT=str(free_port()),
        LEADSTATE_EMBEDDED_KAFKA_PORT=str(free_port()),
        LEADSTATE_EMBEDDED_KAFKA_CONTROLLER_PORT=str(free_port()),
        LEADSTATE_LOG_FORMAT="json",
        **KINDS.kafka_home_env(),  # the session's jar cache: no download per test
    )
    return env


def service_pids(dev: subprocess.Popen[bytes]) -> dict[str, int]:
    """The live service processes `leadstate dev` runs, by name."""
    found = {}
    for child in psutil.Process(dev.pid).children():
        try:
            argv = child.cmdline()
        except psutil.Error:
            continue
        if "services.cli" in argv and child.status() != psutil.STATUS_ZOMBIE:
            found[argv[-1]] = child.pid
    return found


def brokers_and_postmasters(data_dir: Path) -> tuple[list[int], list[int]]:
    """The broker and PostgreSQL server processes of this data dir, whoever started them."""
    brokers, postmasters = [], []
    for proc in processes_using(data_dir):
        try:
            argv = tuple(proc.cmdline())
            if looks_like_broker(argv, proc.pid, data_dir):
                brokers.append(proc.pid)
            elif proc.name() == "postgres" and "-D" in argv:
                postmasters.append(proc.pid)
        except psutil.Error:
            continue
    return brokers, postmasters


def ready(port: str | int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def poll(check, *, timeout_s: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout_s}s: {what} (last: {last!r})")
