"""The chaos summary: what the fault runs sent, stored and found, printed at the end of the session."""

from __future__ import annotations

import pytest

from tests.chaos.audit import SUMMARY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SUMMARY:
        return
    terminalreporter.section("leadstate chaos summary")
    for key in (
        "events sent",
        "events acknowledged",
        "events stored",
        "MQLs",
        "decisions",
        "kills",
        "outages",
        "poison messages dead-lettered",
        "redelivered envelopes (applied once)",
        "duplicates found (applied twice)",
        "lost found",
    ):
        terminalreporter.write_line(f"{key:>40}: {SUMMARY.get(key, 0):,}")
