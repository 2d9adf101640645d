"""`leadstate dev` (what `make run` calls) from nothing: embedded PostgreSQL and broker, three services,
printed keys that work, a clear refusal of a second instance, and a clean stop with nothing left behind."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from services.common.processes import processes_using
from tests.e2e.devstack import dev_env, run_dev, start_dev, wait_for
from tests.support import free_port

pytestmark = pytest.mark.e2e


def test_dev_runs_everything_and_stops_cleanly(tmp_path: Path, dev_data: Path) -> None:
    env = dev_env(dev_data)
    dev = start_dev(env, tmp_path / "dev.log")
    try:
        banner = wait_for(tmp_path / "dev.log", "leadstate is running", dev)
        keys = json.loads((dev_data / "dev-keys.json").read_text())
        write_key = keys["write_keys"][0]
        assert write_key in banner and all(k in banner for k in keys["api_keys"])
        ingest = f"http://127.0.0.1:{env['LEADSTATE_INGEST_PORT']}"
        answer = httpx.post(
            f"{ingest}/v1/track", auth=(write_key, ""), json={"userId": "dev-u1", "event": "Hello"}
        )
        assert answer.status_code == 200, answer.text
        for port in ("LEADSTATE_HANDOFF_PORT", "LEADSTATE_QUALIFIER_PORT"):
            assert httpx.get(f"http://127.0.0.1:{env[port]}/readyz").status_code == 200
        # the handoff was given the qualifier's address: the lab's routes reach it (unwired, this is a 503)
        handoff = f"http://127.0.0.1:{env['LEADSTATE_HANDOFF_PORT']}"
        api_key = next(iter(keys["api_keys"]))  # every scope
        forwarded = httpx.get(
            f"{handoff}/v1/policy/simulations/sim_none", headers={"Authorization": f"Bearer {api_key}"}
        )
        assert forwarded.status_code == 404, forwarded.text

        second = run_dev(env, timeout_s=60)
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
    leftovers = processes_using(dev_data)
    assert not leftovers, [p.cmdline() for p in leftovers]


def test_dev_with_unreachable_external_broker_fails_clearly(dev_data: Path) -> None:
    env = dev_env(dev_data)
    env["LEADSTATE_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{free_port()}"
    result = run_dev(env, timeout_s=120)
    assert result.returncode == 1
    assert "not reachable" in result.stderr and "Traceback" not in result.stderr
    leftovers = processes_using(dev_data)
    assert not leftovers


def test_dev_refuses_a_port_in_use(dev_data: Path) -> None:
    import socket

    env = dev_env(dev_data)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["LEADSTATE_HANDOFF_PORT"])))
        taken.listen()
        result = run_dev(env, timeout_s=60)
    assert result.returncode == 1
    assert f"port {env['LEADSTATE_HANDOFF_PORT']}" in result.stderr and "already in use" in result.stderr
