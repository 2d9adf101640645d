"""`leadstate dev` (what `make run` calls) from nothing: embedded PostgreSQL and broker, three services,
printed keys that work, a clear refusal of a second instance, and a clean stop with nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import KINDS
from tests.support import ROOT, free_port

pytestmark = pytest.mark.e2e


def _start_dev(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "dev"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if text in content:
            return content
        if process.poll() is not None:
            raise AssertionError(f"leadstate dev exited ({process.returncode}):\n{content[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not printed within {timeout_s}s:\n{log.read_text()[-3000:]}")


def _run_dev(env: dict[str, str], *, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """`leadstate dev` that is expected to refuse to start: its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "dev"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout_s,
    )


def _processes_using(data_dir: Path) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if str(data_dir) in " ".join(p.info["cmdline"] or [])]


def _dev_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTATE_")}
    env.update(
        LEADSTATE_DATA_DIR=str(data_dir),
        LEADSTATE_INGEST_PORT=str(free_port()),
        LEADSTATE_HANDOFF_PORT=str(free_port()),
        LEADSTATE_QUALIFIER_PORT=str(free_port()),
        LEADSTATE_EMBEDDED_KAFKA_PORT=str(free_port()),
        LEADSTATE_LOG_FORMAT="json",
        **KINDS.kafka_home_env(),  # the session's jar cache: no download per test
    )
    return env


def test_dev_runs_everything_and_stops_cleanly(tmp_path: Path) -> None:
    env = _dev_env(tmp_path / "data")
    dev = _start_dev(env, tmp_path / "dev.log")
    try:
        banner = _wait_for(tmp_path / "dev.log", "leadstate is running", dev)
        keys = json.loads((tmp_path / "data" / "dev-keys.json").read_text())
        write_key = keys["write_keys"][0]
        assert write_key in banner and all(k in banner for k in keys["api_keys"])
        ingest = f"http://127.0.0.1:{env['LEADSTATE_INGEST_PORT']}"
        answer = httpx.post(
            f"{ingest}/v1/track", auth=(write_key, ""), json={"userId": "dev-u1", "event": "Hello"}
        )
        assert answer.status_code == 200, answer.text
        for port in ("LEADSTATE_HANDOFF_PORT", "LEADSTATE_QUALIFIER_PORT"):
            assert httpx.get(f"http://127.0.0.1:{env[port]}/readyz").status_code == 200

        second = _run_dev(env, timeout_s=60)
        assert second.returncode == 1
        assert "already running" in second.stderr and "Traceback" not in second.stderr + second.stdout

        children = psutil.Process(dev.pid).children(recursive=True)
        assert len(children) >= 4  # three services and the broker
    finally:
        dev.send_signal(signal.SIGTERM)
        code = dev.wait(60)
    assert code == 0, (tmp_path / "dev.log").read_text()[-3000:]
    time.sleep(0.5)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    leftovers = _processes_using(tmp_path / "data")
    assert not leftovers, [p.info["cmdline"] for p in leftovers]


def test_dev_with_unreachable_external_broker_fails_clearly(tmp_path: Path) -> None:
    env = _dev_env(tmp_path / "data")
    env["LEADSTATE_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{free_port()}"
    result = _run_dev(env, timeout_s=120)
    assert result.returncode == 1
    assert "not reachable" in result.stderr and "Traceback" not in result.stderr
    leftovers = _processes_using(tmp_path / "data")
    assert not leftovers


def test_dev_refuses_a_port_in_use(tmp_path: Path) -> None:
    import socket

    env = _dev_env(tmp_path / "data")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["LEADSTATE_HANDOFF_PORT"])))
        taken.listen()
        result = _run_dev(env, timeout_s=60)
    assert result.returncode == 1
    assert f"port {env['LEADSTATE_HANDOFF_PORT']}" in result.stderr and "already in use" in result.stderr
