"""Bad settings: one clear line naming the variable, exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from services.common.settings import SettingsError, load_settings
from tests.support import ROOT


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTATE_")}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"LEADSTATE_INGEST_PORT": "eighty"}, "LEADSTATE_INGEST_PORT"),
        ({"LEADSTATE_API_KEYS": "{not json"}, "LEADSTATE_API_KEYS"),
        ({"LEADSTATE_API_KEYS": '{"k": ["mql:write"]}'}, "LEADSTATE_API_KEYS"),
        ({"LEADSTATE_LOG_LEVEL": "LOUD"}, "LEADSTATE_LOG_LEVEL"),
        ({"LEADSTATE_KAFKA_BOOTSTRAP": "x:1"}, "LEADSTATE_DATABASE_URL"),  # qualifier needs both
    ],
)
def test_bad_setting_is_one_line_and_exit_2(env: dict[str, str], variable: str) -> None:
    result = _run("qualifier", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_secret_values_are_not_echoed() -> None:
    result = _run("ingest", LEADSTATE_API_KEYS='{"secret-key-123": ["bogus"]}')
    assert result.returncode == 2 and "secret-key-123" not in result.stderr


def test_production_refuses_to_run_without_keys() -> None:
    with pytest.raises(SettingsError, match="LEADSTATE_WRITE_KEYS must be set in production"):
        load_settings(env="production")


def test_parsed_keys_and_origins() -> None:
    settings = load_settings(
        write_keys=" a, b ,", api_keys='{"k": ["mql:read"]}', cors_origins="https://x.test"
    )
    assert settings.write_keys == ("a", "b")
    assert settings.api_keys == {"k": ("mql:read",)}
    assert settings.cors_origins == ("https://x.test",)


def test_service_on_a_taken_port_fails_clearly() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("ingest", LEADSTATE_KAFKA_BOOTSTRAP="127.0.0.1:1", LEADSTATE_INGEST_PORT=str(port))
    assert result.returncode == 1
    assert "already in use" in result.stderr and "Traceback" not in result.stderr
