"""`leadstate dev` when things die: a killed service comes back while the others stay up; after the
whole run is SIGKILLed the next start reclaims the broker and PostgreSQL it left, with the data still
there; a port held by a program that is not ours is refused and that program left alone."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.common.devrecord import DevRecord, write_record
from services.common.processes import ProcessId, processes_using
from tests.e2e.devstack import (
    brokers_and_postmasters,
    dev_env,
    poll,
    ready,
    run_dev,
    service_pids,
    start_dev,
    wait_for,
)
from tests.support import ROOT, free_port

pytestmark = pytest.mark.e2e


def _stop(dev: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> int:
    if dev.poll() is None:
        dev.send_signal(sig)
    return dev.wait(60)


def test_a_killed_service_is_restarted_while_the_others_stay_up(tmp_path: Path, dev_data: Path) -> None:
    env = dev_env(dev_data)
    log = tmp_path / "dev.log"
    dev = start_dev(env, log)
    try:
        wait_for(log, "leadstate is running", dev)
        before = service_pids(dev)
        assert set(before) == {"ingest", "qualifier", "handoff"}
        os.kill(before["qualifier"], signal.SIGKILL)

        content = wait_for(log, "qualifier restarted", dev)
        assert "qualifier stopped unexpectedly (killed by SIGKILL); restarting it in 1 s" in content
        after = poll(
            lambda: (
                (pids := service_pids(dev)).get("qualifier", before["qualifier"]) != before["qualifier"]
                and pids
            ),
            timeout_s=30,
            what="a new qualifier process",
        )
        poll(lambda: ready(env["LEADSTATE_QUALIFIER_PORT"]), timeout_s=90, what="the qualifier ready again")
        assert after["ingest"] == before["ingest"] and after["handoff"] == before["handoff"]
        assert service_pids(dev) == after  # nobody else was restarted meanwhile
        assert ready(env["LEADSTATE_INGEST_PORT"]) and ready(env["LEADSTATE_HANDOFF_PORT"])
        assert dev.poll() is None
    finally:
        code = _stop(dev)
    assert code == 0, log.read_text()[-3000:]


def _inbox(env: dict[str, str], api_key: str) -> set[str]:
    answer = httpx.get(
        f"http://127.0.0.1:{env['LEADSTATE_HANDOFF_PORT']}/v1/mqls",
        headers={"Authorization": f"Bearer {api_key}"},
        params={"limit": 200},
        timeout=5,
    )
    return {item["mql_id"] for item in answer.json()["items"]} if answer.status_code == 200 else set()


def test_after_a_sigkill_of_everything_the_next_start_reclaims_and_keeps_the_data(
    tmp_path: Path, dev_data: Path
) -> None:
    data = dev_data
    env = dev_env(data)
    first = start_dev(env, tmp_path / "first.log", own_group=True)
    try:
        wait_for(tmp_path / "first.log", "leadstate is running", first)
        posted = subprocess.run(
            [sys.executable, "-m", "services.cli", "demo", "--leads", "40", "--seed", "1"],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert posted.returncode == 0, posted.stderr
        api_key = next(iter(json.loads((data / "dev-keys.json").read_text())["api_keys"]))
        mqls = poll(lambda: _inbox(env, api_key), timeout_s=90, what="an MQL in the inbox")
    finally:
        with contextlib.suppress(ProcessLookupError):  # dev and its services; not the broker's session
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    left_brokers, left_postmasters = brokers_and_postmasters(data)
    assert len(left_brokers) == 1 and len(left_postmasters) == 1  # what the issue is about

    second = start_dev(env, tmp_path / "second.log")
    try:
        content = wait_for(tmp_path / "second.log", "leadstate is running", second)
        assert f"the previous run (pid {first.pid}) left PostgreSQL (pid {left_postmasters[0]}), " in content
        assert "reusing PostgreSQL; restarting the broker" in content
        assert mqls <= _inbox(env, api_key)
        brokers, postmasters = brokers_and_postmasters(data)
        assert postmasters == left_postmasters and len(brokers) == 1 and brokers != left_brokers
    finally:
        code = _stop(second)
    assert code == 0, (tmp_path / "second.log").read_text()[-3000:]
    poll(lambda: not processes_using(data), timeout_s=30, what="nothing of this data dir left running")


def test_a_foreign_process_on_the_broker_port_is_refused_and_left_alone(
    tmp_path: Path, dev_data: Path
) -> None:
    data = dev_data
    data.mkdir()
    env = dev_env(data)
    port = int(env["LEADSTATE_EMBEDDED_KAFKA_PORT"])
    foreign = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, time\n"
            f"s = socket.create_server(('127.0.0.1', {port}))\n"
            "print('listening', flush=True)\n"
            "time.sleep(300)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert foreign.stdout is not None and foreign.stdout.readline() == b"listening\n"
        # Even a record that names it as this data dir's broker does not make it ours to stop.
        me, it = ProcessId.of(os.getpid()), ProcessId.of(foreign.pid)
        assert me is not None and it is not None
        gone = ProcessId(me.pid, me.create_time - 1000, me.cmdline)
        write_record(
            data,
            DevRecord(owner=gone, data_dir=str(data), host="127.0.0.1", ports={}, processes={"broker": it}),
        )
        result = run_dev(env, timeout_s=120)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr + result.stdout
        expected = f"port {port} on 127.0.0.1 (broker, LEADSTATE_EMBEDDED_KAFKA_PORT) is already in use"
        assert expected in lines[0]
        assert foreign.poll() is None and it.alive()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # still serving its port
    finally:
        foreign.kill()
        foreign.wait()


def test_a_service_stops_by_itself_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTATE_")}
    env.update(LEADSTATE_KAFKA_BOOTSTRAP="127.0.0.1:1", LEADSTATE_INGEST_PORT=str(port))
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, pathlib, sys, time\n"
            "from services.common.devstack import spawn_service\n"
            "log = pathlib.Path(sys.argv[2])\n"
            "child = spawn_service('ingest', json.loads(sys.argv[1]), log_path=log)\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(300)",
            json.dumps(env),
            str(tmp_path / "i.log"),
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert parent.stdout is not None
    child = ProcessId.of(int(parent.stdout.readline()))
    assert child is not None

    def serving() -> bool:
        assert child.alive(), (tmp_path / "i.log").read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    poll(serving, timeout_s=60, what="ingest serving")
    parent.kill()
    parent.wait()
    poll(lambda: not child.alive(), timeout_s=30, what="the orphaned ingest gone")
    assert "is gone; stopping" in (tmp_path / "i.log").read_text()
