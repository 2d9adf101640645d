"""The next `leadstate dev` stops a stray broker of its own data dir, Tansu or Apache Kafka, even one a
crashed run had not recorded yet, and nothing else on that port. The strays here are Python processes
that present a broker's command line (argv[0] `tansu` or `java … kafka.Kafka …`) and listen on the port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.devrecord import DevRecord, write_record
from services.common.processes import ProcessId
from services.common.reclaim import reclaim_previous_run
from tests.support import free_port


def _stray(argv: list[str], port: int, log: Path | None = None) -> subprocess.Popen[bytes]:
    listen = (
        "import socket, sys, time\n"
        f"s = socket.create_server(('127.0.0.1', {port}))\n"
        "sys.stderr.write('listening\\n'); sys.stderr.flush(); time.sleep(120)"
    )
    out = open(log, "wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [argv[0], "-c", listen, *argv[1:]],
        executable=sys.executable,
        stdout=out,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # Python finds its library from argv[0]; a `java` on the PATH would mislead it.
        env={**os.environ, "PYTHONHOME": sys.base_prefix},
    )
    assert process.stderr is not None and process.stderr.readline() == b"listening\n"
    return process


@pytest.mark.parametrize("kind", ["kafka", "tansu"])
def test_an_unrecorded_stray_broker_of_this_data_dir_is_stopped(kind: str, tmp_path: Path) -> None:
    data, port, said = tmp_path / "data", free_port(), []
    data.mkdir()
    if kind == "kafka":
        stray = _stray(["java", "-Xmx512m", "kafka.Kafka", str(data / "kafka" / "server.properties")], port)
    else:
        stray = _stray(["tansu", "broker", "--listener-url", f"tcp://127.0.0.1:{port}"], port, data / "t.log")
    try:
        reclaim_previous_run(data, port, said.append)
        assert stray.wait(30) is not None
        assert said == [
            f"leadstate: the previous run left broker (pid {stray.pid}) running: restarting the broker"
        ]
    finally:
        stray.kill()
        stray.wait()


def test_another_data_dirs_broker_on_the_port_is_left_alone(tmp_path: Path) -> None:
    data, port, said = tmp_path / "data", free_port(), []
    data.mkdir()
    other = _stray(["java", "kafka.Kafka", str(tmp_path / "elsewhere" / "server.properties")], port)
    try:
        me = ProcessId.of(other.pid)
        assert me is not None
        gone = ProcessId(me.pid, me.create_time - 1000, me.cmdline)
        write_record(data, DevRecord(owner=gone, data_dir=str(data), host="127.0.0.1", ports={}))
        reclaim_previous_run(data, port, said.append)
        assert said == [] and other.poll() is None and me.alive()
    finally:
        other.kill()
        other.wait()
