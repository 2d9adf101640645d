"""`leadstate policy suggest` against the real database: bad input is one line saying what is missing,
with a non-zero exit code, never an empty report that reads as "all fine"."""

from __future__ import annotations

import json

from services.qualifier.advisor.advisor import suggest_on_entries
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


def test_advice_from_the_database_in_two_processes_equals_the_advice_on_the_log(recorded: Recorded) -> None:
    """The stored log read by two worker processes, lead group by lead group, gives the advice the same
    log gives folded in memory: same candidates, same figures, same sentences and patches."""
    args = ("--policy", str(LOOSE), "--min-decisions", "10", "--format", "json")
    done = leadstate("suggest", *args, "--workers", "2", database_url=recorded.database_url)
    assert done.returncode == 0, done.stderr
    stored = json.loads(done.stdout)
    text = LOOSE.read_text(encoding="utf-8")
    expected = suggest_on_entries(recorded.history.entries, text, min_decisions=10, policy_name=str(LOOSE))
    assert stored["candidates_tested"] == expected["candidates_tested"] > 0
    assert stored["history"] == expected["history"] and stored["rules"] == expected["rules"]
    assert stored["suggestions"] == expected["suggestions"]
    assert stored["suggestions"], "the loose policy lets students and staff through: some edit must clear"
