"""The README's commands in a second terminal while `leadstate dev` runs, as a user types them: nothing
but LEADSTATE_DATA_DIR in the environment (no database URL, no bootstrap, not even the ports), and each
one works on the running stack's database and broker (the `leadstate` database dev migrated)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.devstack import dev_env, poll, ready, start_dev, wait_for
from tests.support import ROOT, free_port

pytestmark = pytest.mark.e2e

SERVICES = ("ingest", "qualifier", "handoff")  # long-running: started on free ports, ready, stopped


def documented_commands() -> set[str]:
    """`leadstate X` and `leadstate policy X` as README.md and docs/ name them."""
    text = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    found = set(re.findall(r"leadstate (policy [a-z]+|[a-z]+)", text))
    return {c for c in found if c.split()[0] in _cli_commands()}


def _cli_commands() -> set[str]:
    from services.cli import build_parser

    parser = build_parser()
    return set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def _cli(args: list[str], env: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout_s,
    )


def _inbox(dev: dict[str, str], api_key: str) -> list[dict[str, object]]:
    answer = httpx.get(
        f"http://127.0.0.1:{dev['LEADSTATE_HANDOFF_PORT']}/v1/mqls",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=5,
    )
    return answer.json()["items"] if answer.status_code == 200 else []


def test_every_documented_command_works_next_to_a_running_dev_stack(tmp_path: Path, dev_data: Path) -> None:
    data = dev_data
    dev = dev_env(data)
    user = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTATE_")}
    user["LEADSTATE_DATA_DIR"] = str(data)
    ran: set[str] = set()
    stack = start_dev(dev, tmp_path / "dev.log")
    try:
        wait_for(tmp_path / "dev.log", "leadstate is running", stack)

        def run(command: str, *args: str, ok: str = "", code: int = 0) -> str:
            result = _cli([*command.split(), *args], user)
            output = result.stdout + result.stderr
            assert result.returncode == code, f"leadstate {command} {' '.join(args)}:\n{output}"
            assert "Traceback" not in output and ok in output, output
            ran.add(command)
            return output

        run("demo", "--leads", "40", "--seed", "1", ok=f":{dev['LEADSTATE_INGEST_PORT']}/v1/batch")
        api_key = next(iter(json.loads((data / "dev-keys.json").read_text())["api_keys"]))
        lead_id = str(poll(lambda: _inbox(dev, api_key), timeout_s=90, what="an MQL")[0]["lead_id"])
        run("policy check", "policies/default.yaml", ok="valid policy")
        run("policy diff", "policies/default.yaml", "policies/default.yaml")
        run("policy explain", lead_id, ok=lead_id)
        run("policy simulate", "policies/default.yaml", ok="history: ")
        # No sales decisions yet: the advisor says what is missing instead of an empty "all fine".
        run("policy suggest", ok="no suggestions", code=1)
        out = run("users", "add", "aiko@example.com", "--role", "sales", ok="set a password within")
        assert f":{dev['LEADSTATE_HANDOFF_PORT']}/console/" in out, out
        run("users", "list", ok="aiko@example.com\tsales\tactive")
        run("users", "role", "aiko@example.com", "marketing", ok="is now marketing (was sales)")
        run("users", "disable", "aiko@example.com", ok="disabled")
        run("users", "enable", "aiko@example.com", ok="active again")
        poll(lambda: _cli(["replay"], user).returncode == 0, timeout_s=60, what="replay without differences")
        run("replay", ok="no differences from the stored state")
        run("migrate", "--topics", ok="topics created: none (all existed)")
        run("dev", ok="already running", code=1)
        ran.add("contracts")  # writes files in the repository and needs no infrastructure: not run here
        for name in SERVICES:
            port = free_port()
            service = subprocess.Popen(
                [sys.executable, "-m", "services.cli", name],
                env={**user, f"LEADSTATE_{name.upper()}_PORT": str(port)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
            )
            try:
                poll(lambda p=port: ready(p), timeout_s=90, what=f"a second {name} ready on the dev stack")
            finally:
                service.send_signal(signal.SIGTERM)
                service.wait(60)
            ran.add(name)
    finally:
        stack.send_signal(signal.SIGINT)
        stack.wait(60)
    assert documented_commands() <= ran, documented_commands() - ran
