"""Hostile policy files through the commands a user runs (subprocesses): `policy check`, `simulate` and
`diff` exit 2 with the reason and its line, and so does a service started on such a policy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.unit.common.policy.hostile import billion_laughs, many_rules, ten_megabytes, with_title_patterns

HOSTILE = {
    "laughs.yaml": (billion_laughs, ":2: a0: anchors and aliases (&name, *name) are not allowed"),
    "big.yaml": (ten_megabytes, ":1: <root>: the document is"),
    "rules.yaml": (many_rules, ": rules: more than 200 rules"),
    "backref.yaml": (lambda: with_title_patterns(r"(\w)\1"), "invalid title pattern '(\\\\w)\\\\1'"),
}


def leadstate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    paths = {}
    for name, (build, _) in HOSTILE.items():
        paths[name] = folder / name
        paths[name].write_text(build(), encoding="utf-8")
    return paths


@pytest.mark.parametrize("name", HOSTILE)
def test_policy_check_refuses_with_the_reason_and_line(hostile: dict[str, Path], name: str) -> None:
    done = leadstate("policy", "check", str(hostile[name]))
    assert done.returncode == 2, done.stdout
    assert f"{hostile[name]}" in done.stderr and HOSTILE[name][1] in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_simulate_and_diff_refuse_before_reading_any_history(hostile: dict[str, Path]) -> None:
    # the database named cannot be reached: the refusal comes first, from the candidate alone
    nowhere = {"LEADSTATE_DATABASE_URL": "postgresql://127.0.0.1:1/none"}
    simulate = leadstate("policy", "simulate", str(hostile["laughs.yaml"]), env=nowhere)
    assert simulate.returncode == 2 and "anchors and aliases" in simulate.stderr, simulate.stderr
    diff = leadstate("policy", "diff", "policies/default.yaml", str(hostile["rules.yaml"]))
    assert diff.returncode == 2 and "more than 200 rules" in diff.stderr, diff.stderr


@pytest.mark.parametrize("service", ["handoff", "qualifier"])
def test_a_service_started_on_a_hostile_policy_stops_with_the_reason(
    hostile: dict[str, Path], service: str
) -> None:
    env = {
        "LEADSTATE_POLICY_PATH": str(hostile["laughs.yaml"]),
        "LEADSTATE_DATABASE_URL": "postgresql://127.0.0.1:1/none",
        "LEADSTATE_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }
    done = leadstate(service, env=env)
    assert done.returncode == 2, done.stderr
    assert "LEADSTATE_POLICY_PATH" in done.stderr and "anchors and aliases" in done.stderr
