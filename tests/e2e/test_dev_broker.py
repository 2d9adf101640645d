"""`leadstate dev` and its embedded broker: the one LEADSTATE_EMBEDDED_BROKER asks for, named in the
banner; one clear line, no traceback and nothing left running when it cannot start."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from tests.e2e.test_dev_command import _dev_env, _processes_using, _run_dev, _start_dev, _wait_for

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("asked", "shown"), [("kafka", "Apache Kafka 4.1.1 (durable"), ("tansu", "Tansu 0.6: memory only")]
)
def test_the_banner_names_the_broker_asked_for(tmp_path: Path, asked: str, shown: str) -> None:
    env = {**_dev_env(tmp_path / "data"), "LEADSTATE_EMBEDDED_BROKER": asked}
    if asked == "kafka" and "LEADSTATE_KAFKA_HOME" not in env:
        pytest.skip("no Java 17+ here: the embedded Apache Kafka cannot run")
    dev = _start_dev(env, tmp_path / "dev.log")
    try:
        banner = _wait_for(tmp_path / "dev.log", "leadstate is running", dev)
        broker_line = next(line for line in banner.splitlines() if line.strip().startswith("broker"))
        assert shown in broker_line, broker_line
    finally:
        dev.send_signal(signal.SIGTERM)
        code = dev.wait(60)
    assert code == 0, (tmp_path / "dev.log").read_text()[-3000:]
    if asked == "kafka":  # the log directory stays for the next run
        assert (tmp_path / "data" / "kafka" / "data" / "meta.properties").exists()
        assert (tmp_path / "data" / "kafka" / "kafka.log").stat().st_size > 0
    assert not _processes_using(tmp_path / "data")


def test_kafka_asked_for_without_java_fails_in_one_line(tmp_path: Path) -> None:
    env = {**_dev_env(tmp_path / "data"), "LEADSTATE_EMBEDDED_BROKER": "kafka"}
    no_java = tmp_path / "bin"
    no_java.mkdir()
    env["PATH"] = f"{no_java}{os.pathsep}/usr/bin/nonexistent"
    result = _run_dev(env, timeout_s=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "LEADSTATE_EMBEDDED_BROKER=kafka, but no Java on the PATH" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not _processes_using(tmp_path / "data")


def test_the_kafka_controller_port_in_use_fails_in_one_line(tmp_path: Path) -> None:
    env = {**_dev_env(tmp_path / "data"), "LEADSTATE_EMBEDDED_BROKER": "kafka"}
    if "LEADSTATE_KAFKA_HOME" not in env:
        pytest.skip("no Java 17+ here: the embedded Apache Kafka cannot run")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env["LEADSTATE_EMBEDDED_KAFKA_CONTROLLER_PORT"] = str(taken.getsockname()[1])
        result = _run_dev(env, timeout_s=120)
    assert result.returncode == 1
    port = env["LEADSTATE_EMBEDDED_KAFKA_CONTROLLER_PORT"]
    assert f"port {port} (embedded Kafka controller) is already in use" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not _processes_using(tmp_path / "data")
