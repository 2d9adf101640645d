"""The three services as processes for a browser test, wired as `leadstate dev` wires them (the console
reads timelines from the qualifier's API); their exit codes are checked when the test leaves."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import API_KEY_READ
from tests.e2e.browser import chromium_or_skip
from tests.support import ServiceProcess, free_port, wait_ready


@dataclass(frozen=True)
class ConsoleStack:
    env: dict[str, str]
    handoff: str  # the handoff's base URL
    chromium: str  # the browser binary
    shots: Path  # where screenshots go (LEADSTATE_SCREENSHOTS, else the test's tmp_path)


@asynccontextmanager
async def console_stack(env: dict[str, str], tmp_path: Path) -> AsyncIterator[ConsoleStack]:
    binary = chromium_or_skip()
    shots = Path(os.environ.get("LEADSTATE_SCREENSHOTS") or tmp_path / "screenshots")
    ports = {name: free_port() for name in ("ingest", "qualifier", "handoff")}
    env = {**env, **{f"LEADSTATE_{name.upper()}_PORT": str(port) for name, port in ports.items()}}
    env["LEADSTATE_QUALIFIER_URL"] = f"http://127.0.0.1:{ports['qualifier']}"
    env["LEADSTATE_QUALIFIER_API_KEY"] = API_KEY_READ
    services = [ServiceProcess(name, env, tmp_path).start() for name in ports]
    try:
        for port in ports.values():
            await wait_ready(f"http://127.0.0.1:{port}", timeout_s=60)
        yield ConsoleStack(env, f"http://127.0.0.1:{ports['handoff']}", binary, shots)
    finally:
        codes = {s.command: s.stop(signal.SIGTERM) for s in services}
    assert set(codes.values()) == {0}, {s.command: s.log()[-1500:] for s in services}
