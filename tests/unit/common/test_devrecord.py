"""How a CLI command takes the running dev stack's database, broker and ports from its record: only
what the environment leaves unset, only while the `leadstate dev` that wrote it is alive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.common.devrecord import (
    BROKER,
    DATABASE,
    URLS,
    DevRecord,
    attach_dev_stack,
    read_record,
    write_record,
)
from services.common.processes import ProcessId
from services.common.settings import SettingsError, load_settings


def _record(data: Path, owner: ProcessId) -> DevRecord:
    return DevRecord(
        owner=owner,
        data_dir=str(data),
        host="127.0.0.1",
        ports={"ingest": 18000, "handoff": 18001, "qualifier": 18002, "broker": 18003},
        database_url="postgresql://postgres:@/leadstate?host=/x",
        bootstrap="127.0.0.1:18003",
        broker_kind="tansu",
        policy_path="/x/policy.yaml",
        status="ready",
    )


@pytest.fixture
def live(tmp_path: Path) -> Path:
    me = ProcessId.of(os.getpid())  # this test process stands in for a running `leadstate dev`
    assert me is not None
    write_record(tmp_path, _record(tmp_path, me))
    assert read_record(tmp_path) == _record(tmp_path, me)
    assert (tmp_path / "dev-stack.json").stat().st_mode & 0o077 == 0
    return tmp_path


def test_unset_settings_come_from_the_running_stack(live: Path) -> None:
    settings = attach_dev_stack(load_settings(data_dir=live), (DATABASE, BROKER))
    assert settings.database_url == "postgresql://postgres:@/leadstate?host=/x"
    assert settings.kafka_bootstrap == "127.0.0.1:18003"
    assert str(settings.policy_path) == "/x/policy.yaml"
    assert settings.ingest_port == 8000  # ports only for commands that call the services
    with_urls = attach_dev_stack(load_settings(data_dir=live, handoff_port=9001), (URLS,))
    assert with_urls.ingest_port == 18000 and with_urls.handoff_port == 9001


def test_explicit_settings_win(live: Path) -> None:
    settings = attach_dev_stack(load_settings(data_dir=live, database_url="postgresql://db/x"), (DATABASE,))
    assert settings.database_url == "postgresql://db/x"
    assert settings.kafka_bootstrap == "127.0.0.1:18003"


def test_a_record_whose_owner_is_gone_is_no_stack(tmp_path: Path) -> None:
    me = ProcessId.of(os.getpid())
    assert me is not None
    write_record(tmp_path, _record(tmp_path, ProcessId(me.pid, me.create_time - 1000, me.cmdline)))
    with pytest.raises(SettingsError, match="LEADSTATE_KAFKA_BOOTSTRAP: not set, and no `leadstate dev`"):
        attach_dev_stack(load_settings(data_dir=tmp_path), (BROKER,))
    assert attach_dev_stack(load_settings(data_dir=tmp_path), ()).database_url is None
