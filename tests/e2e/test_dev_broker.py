"""`leadstate dev` and its embedded broker: the one LEADSTATE_EMBEDDED_BROKER asks for, named in the
banner; one clear line, no traceback and nothing left running when it cannot start."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from services.common.processes import processes_using
from tests.e2e.devstack import dev_env, run_dev, start_dev, wait_for

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("asked", "shown"), [("kafka", "Apache Kafka 4.1.1 (durable"), ("tansu", "Tansu 0.6: memory only")]
)
def test_the_banner_names_the_broker_asked_for(
    tmp_path: Path, dev_data: Path, asked: str, shown: str
) -> None:
    env = {**dev_env(dev_data), "LEADSTATE_EMBEDDED_BROKER": asked}
    if asked == "kafka" and "LEADSTATE_KAFKA_HOME" not in env:
        pytest.skip("no Java 17+ here: the embedded Apache Kafka cannot run")
    dev = start_dev(env, tmp_path / "dev.log")
    try:
        banner = wait_for(tmp_path / "dev.log", "leadstate is running", dev)
        broker_line = next(line for line in banner.splitlines() if line.strip().startswith("broker"))
        assert shown in broker_line, broker_line
    finally:
        dev.send_signal(signal.SIGTERM)
        code = dev.wait(60)
    assert code == 0, (tmp_path / "dev.log").read_text()[-3000:]
    if asked == "kafka":  # the log directory stays for the next run
        assert (dev_data / "kafka" / "data" / "meta.properties").exists()
        assert (dev_data / "kafka" / "kafka.log").stat().st_size > 0
    assert not processes_using(dev_data)


def test_kafka_asked_for_without_java_fails_in_one_line(tmp_path: Path, dev_data: Path) -> None:
    env = {**dev_env(dev_data), "LEADSTATE_EMBEDDED_BROKER": "kafka"}
    no_java = tmp_path / "bin"
    no_java.mkdir()
    env["PATH"] = f"{no_java}{os.pathsep}/usr/bin/nonexistent"
    result = run_dev(env, timeout_s=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "LEADSTATE_EMBEDDED_BROKER=kafka, but no Java on the PATH" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not processes_using(dev_data)


def test_the_kafka_controller_port_in_use_fails_in_one_line(tmp_path: Path, dev_data: Path) -> None:
    env = {**dev_env(dev_data), "LEADSTATE_EMBEDDED_BROKER": "kafka"}
    if "LEADSTATE_KAFKA_HOME" not in env:
        pytest.skip("no Java 17+ here: the embedded Apache Kafka cannot run")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env["LEADSTATE_EMBEDDED_KAFKA_CONTROLLER_PORT"] = str(taken.getsockname()[1])
        result = run_dev(env, timeout_s=120)
    assert result.returncode == 1
    port = env["LEADSTATE_EMBEDDED_KAFKA_CONTROLLER_PORT"]
    assert f"port {port} (embedded Kafka controller) is already in use" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not processes_using(dev_data)
