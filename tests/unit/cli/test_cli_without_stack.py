"""Every command that needs the database or the broker, run with neither configured and no `leadstate
dev` running: one line naming the variable to set, exit code 2, no traceback. The commands are read
from the CLI's own parser, so a new one is covered the day it is added."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli import build_parser
from services.common.devrecord import BROKER, DATABASE
from tests.support import ROOT, free_port

# The positional arguments a command needs to get as far as looking for its infrastructure.
ARGUMENTS = {
    "policy explain": ["user-42"],
    "policy simulate": ["policies/default.yaml"],
    "users add": ["ann@example.com", "--role", "sales"],
    "users disable": ["ann@example.com"],
    "users enable": ["ann@example.com"],
    "users role": ["ann@example.com", "admin"],
    "users link": ["ann@example.com"],
}


def commands_needing(*kinds: str) -> list[tuple[str, tuple[str, ...]]]:
    found = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        for action in subs:
            for name, child in action.choices.items():
                walk(child, f"{path} {name}".strip())
        needs = parser.get_default("needs") or ()
        if not subs and any(kind in needs for kind in kinds):
            found.append((path, tuple(needs)))

    walk(build_parser(), "")
    return found


@pytest.mark.parametrize(("command", "needs"), commands_needing(DATABASE, BROKER))
def test_without_a_dev_stack_or_settings_one_clear_line(
    command: str, needs: tuple[str, ...], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTATE_")}
    env.update(LEADSTATE_DATA_DIR=str(tmp_path / "data"), LEADSTATE_INGEST_PORT=str(free_port()))
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", *command.split(), *ARGUMENTS.get(command, [])],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    variable = "LEADSTATE_DATABASE_URL" if DATABASE in needs else "LEADSTATE_KAFKA_BOOTSTRAP"
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and variable in lines[0] and "no `leadstate dev` is running" in lines[0], lines
    assert str(tmp_path / "data") in lines[0]


def test_the_commands_that_need_infrastructure_are_declared() -> None:
    declared = {path for path, _ in commands_needing(DATABASE, BROKER)}
    expected = {"ingest", "qualifier", "handoff", "migrate", "replay", "policy explain", "policy simulate"}
    assert expected <= declared
