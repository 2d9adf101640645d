"""The SLA's time computations (services/handoff/sla.py) are total: over any times, as the policy core's
(the same strategies: tests/unit/common/policy/test_policy_time_totality.py), nothing raises."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from services.handoff.sla import due_at, qualified_window, sla_state
from tests.unit.common.policy.test_policy_time_totality import FIRST, LAST, times


@given(qualified_at=times | st.sampled_from([FIRST, LAST]), now=times, hours=st.floats(0, 24 * 365))
def test_the_sla_is_total(qualified_at: datetime, now: datetime, hours: float) -> None:
    due = due_at(qualified_at, hours)
    assert sla_state(due, at=now, due_soon_hours=hours / 2) in ("ok", "due_soon", "breached")
    assert due_at(qualified_at.replace(tzinfo=None), hours) == due  # asyncpg reads ±infinity naive
    qualified_window("due_soon", now=now, decision_hours=hours, due_soon_hours=hours / 2)
