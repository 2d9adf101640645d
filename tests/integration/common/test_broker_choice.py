"""LEADSTATE_EMBEDDED_BROKER: which embedded broker make_broker picks, and the one line it gives when the
one asked for cannot run (no Java, no way to fetch the jars)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.common.broker_choice import make_broker
from services.common.embedded import EmbeddedError
from services.common.settings import load_settings


def _path_with_java_only(tmp_path: Path) -> str:
    java = shutil.which("java")
    if java is None:
        pytest.skip("no Java here")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").symlink_to(Path(java).resolve())
    return str(bin_dir)


def test_auto_falls_back_to_tansu_without_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    said: list[str] = []
    broker = make_broker(load_settings(embedded_broker="auto"), tmp_path, say=said.append)
    assert broker.kind == "tansu"
    assert said == [
        "leadstate: embedded Apache Kafka unavailable (no Java on the PATH (Apache Kafka needs "
        "Java 17+)); falling back to Tansu"
    ]


def test_tansu_asked_for_is_tansu(tmp_path: Path) -> None:
    broker = make_broker(load_settings(embedded_broker="tansu"), tmp_path, say=print)
    assert broker.kind == "tansu" and "memory only" in broker.describe()


def test_kafka_asked_for_without_a_way_to_fetch_its_jars_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", _path_with_java_only(tmp_path))  # Java, but no Maven and an empty cache
    monkeypatch.delenv("LEADSTATE_KAFKA_HOME", raising=False)
    with pytest.raises(EmbeddedError) as refused:
        make_broker(load_settings(embedded_broker="kafka"), tmp_path / "data", say=print)
    assert str(refused.value) == (
        "LEADSTATE_EMBEDDED_BROKER=kafka, but Maven (mvn) is not on the PATH: "
        "cannot fetch Apache Kafka's jars"
    )


def test_kafka_home_without_a_broker_fails_in_one_line(tmp_path: Path) -> None:
    settings = load_settings(embedded_broker="kafka", kafka_home=tmp_path)
    with pytest.raises(EmbeddedError, match=r"LEADSTATE_KAFKA_HOME=.* holds no Kafka broker"):
        make_broker(settings, tmp_path, say=print)
