"""Bad settings: one clear line naming the variable, exit code 2, no traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from services.common.settings import (
    NOT_SETTINGS,
    SettingsError,
    check_unknown_variables,
    known_variables,
    load_settings,
)
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


def test_misspelt_variable_is_refused_naming_the_nearest() -> None:
    result = _run("qualifier", LEADSTATE_DATABSE_URL="postgresql://db/x")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "LEADSTATE_DATABSE_URL" in lines[0] and "did you mean LEADSTATE_DATABASE_URL?" in lines[0]


def test_variables_read_outside_the_settings_are_accepted() -> None:
    check_unknown_variables({name: "1" for name in NOT_SETTINGS} | {"LEADSTATE_INGEST_PORT": "1"})
    check_unknown_variables({"leadstate_log_level": "INFO", "OTHER_THING": "x"})
    with pytest.raises(SettingsError, match="LEADSTATE_NOTHING_LIKE_IT: not a leadstate setting"):
        check_unknown_variables({"LEADSTATE_NOTHING_LIKE_IT": "1"})


def test_every_variable_the_repository_names_is_known() -> None:
    """The allow-list keeps up with the code, the tests, the benchmarks and the docs: a LEADSTATE_ name
    written anywhere (an env dict of a test, the Makefile, the README) must be a setting or listed."""
    sources = [ROOT / "Makefile", ROOT / "README.md"]
    for folder in ("services", "tests", "bench", "docs"):
        sources += [p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".md", ".yaml", ".yml"}]
    named = {
        match
        for path in sources
        if path.is_file()
        for match in re.findall(r"LEADSTATE_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8"))
    }
    typos = {"LEADSTATE_DATABSE_URL", "LEADSTATE_NOTHING_LIKE_IT"}  # this file's own examples
    assert named - typos - known_variables() == set()


@pytest.mark.parametrize(
    "args",
    [
        ("policy", "explain", "user-42", "--at", "garbage"),
        ("policy", "simulate", "policies/default.yaml", "--since", "garbage"),
    ],
)
def test_a_time_argument_that_is_not_a_time_is_one_error_line(args: tuple[str, ...]) -> None:
    result = _run(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and args[-2] in errors[0], result.stderr
    assert "not an ISO date or date-time: 'garbage'" in errors[0]


def test_processed_ids_must_outlive_the_embedded_log() -> None:
    with pytest.raises(SettingsError, match="LEADSTATE_PROCESSED_RETENTION_DAYS must be longer"):
        load_settings(processed_retention_days=7, kafka_retention_hours=168)
    assert load_settings(processed_retention_days=3, kafka_bootstrap="x:9092").processed_retention_days == 3
