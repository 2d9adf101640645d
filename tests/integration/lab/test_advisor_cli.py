"""`leadstate policy suggest` against the real database: bad input is one line saying what is missing,
with a non-zero exit code, never an empty report that reads as "all fine"."""

from __future__ import annotations

from tests.integration.lab.conftest import LOOSE, Recorded
from tests.integration.lab.test_lab_simulate import leadstate


def test_empty_history_says_so(database_url: str) -> None:
    done = leadstate("suggest", "--policy", str(LOOSE), database_url=database_url)
    assert done.returncode == 1 and not done.stdout
    assert "no suggestions" in done.stderr and "empty" in done.stderr


def test_unknown_rule_window_without_decisions_and_too_few_decisions(recorded: Recorded) -> None:
    url = recorded.database_url
    done = leadstate("suggest", "--policy", str(LOOSE), "--rule", "nope", database_url=url)
    assert done.returncode == 1 and not done.stdout
    assert "unknown rule 'nope'" in done.stderr and "engaged-reader" in done.stderr
    done = leadstate("suggest", "--policy", str(LOOSE), "--since", "2030-01-01", database_url=url)
    assert done.returncode == 1 and "no sales decisions recorded with an MQL between" in done.stderr
    done = leadstate("suggest", "--policy", str(LOOSE), "--min-decisions", "1000000", database_url=url)
    assert done.returncode == 1 and "fewer than the minimum of 1000000" in done.stderr
    done = leadstate("suggest", "--policy", str(LOOSE), "--min-decisions", "0", database_url=url)
    assert done.returncode == 2 and "--min-decisions must be at least 1" in done.stderr
