"""The dev stack's supervisor: one service that dies is started again, after a delay that doubles with
each quick failure (1 s, 2 s, 4 s … 30 s), while the others keep running. Only `stop_all` (Ctrl-C,
SIGTERM) stops them. In production compose or Kubernetes plays this part (see the README)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
STABLE_AFTER_S = 60.0  # a service that ran this long before dying starts again after FIRST_DELAY_S


@dataclass
class Supervised:
    name: str
    process: subprocess.Popen[bytes]
    started_at: float
    quick_failures: int = 0
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        spawn: Callable[[str], subprocess.Popen[bytes]],
        *,
        say: Callable[[str], None],
        on_restart: Callable[[str, subprocess.Popen[bytes]], None] = lambda name, process: None,
    ) -> None:
        self._spawn, self._say, self._on_restart = spawn, say, on_restart
        self.children: dict[str, Supervised] = {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        process = self._spawn(name)
        self.children[name] = Supervised(name, process, time.monotonic())
        return process

    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return {name: child.process for name, child in self.children.items()}

    def tend(self) -> None:
        """Called every half second or so: notice deaths, restart the services whose delay is over."""
        now = time.monotonic()
        for child in self.children.values():
            code = child.process.poll()
            if code is None:
                continue
            if child.restart_at is None:
                stable = now - child.started_at >= STABLE_AFTER_S
                child.quick_failures = 0 if stable else child.quick_failures + 1
                delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** max(0, child.quick_failures - 1))
                child.restart_at = now + delay
                self._say(
                    f"leadstate: {child.name} stopped unexpectedly ({_exit_reason(code)}); "
                    f"restarting it in {delay:.0f} s"
                )
            elif now >= child.restart_at:
                child.process = self._spawn(child.name)
                child.started_at, child.restart_at = now, None
                self._say(f"leadstate: {child.name} restarted (pid {child.process.pid})")
                self._on_restart(child.name, child.process)

    def stop_all(self, timeout_s: float = 20) -> None:
        running = [c.process for c in self.children.values() if c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
