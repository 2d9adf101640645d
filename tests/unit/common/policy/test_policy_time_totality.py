"""Every time computation of the policy core is total: over any times (the whole range ingest lets
through, and beyond it up to Python's first and last instants) nothing raises, and every score stays a
finite number that survives a JSON round trip of the state. (The SLA's: tests/unit/handoff/.)"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.policy import LeadState, Policy, apply_decision, evaluate, explain, merge_states, qualify
from services.common.policy.scoring import score_at, score_components
from services.common.policy.timemath import shifted
from tests.unit.common.policy.conftest import attended, downloaded, fold, identify

FIRST, LAST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
# what ingest stores: from the floor (1970) to a day after receivedAt (now, give or take a century)
ingested = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)
anywhere = st.datetimes().map(lambda d: d.replace(tzinfo=UTC))
times = ingested | anywhere


def _finite(state: LeadState, policy: Policy, at: datetime) -> None:
    components = score_components(state.scores, policy, at)
    assert all(math.isfinite(v) for v in components.values()), components
    assert math.isfinite(score_at(state.scores, policy, at))
    assert LeadState.from_dict(orjson.loads(orjson.dumps(state.to_dict()))) is not None


@settings(max_examples=300, deadline=None)
@given(moments=st.lists(times, min_size=1, max_size=6), at=times, decided=times)
def test_the_fold_rules_and_explanations_never_raise_on_any_times(
    policy: Policy, moments: list[datetime], at: datetime, decided: datetime
) -> None:
    activities = [
        identify(moments[0]),
        *(attended(t) for t in moments),
        downloaded("wp-ma-guide", moments[-1]),
    ]
    state = fold(policy, activities)
    _finite(state, policy, at)
    state, _ = qualify(state, policy, at)
    evaluate(state, policy, at)
    for rule in policy.rules:
        explain(state, rule.name, policy, at)
    state = apply_decision(state, "recycled", decided, state.episode)
    state, _ = qualify(fold(policy, [attended(at)], state), policy, at)
    _finite(state, policy, at)
    other = fold(policy, [attended(decided, user_id=None, anonymous_id="a2")], LeadState.new("lead-2"))
    _finite(merge_states(state, other, policy), policy, at)


@given(at=st.datetimes(), days=st.floats(-1e6, 1e6))
def test_shifted_saturates(at: datetime, days: float) -> None:
    moved = shifted(at, timedelta(days=days))
    assert datetime.min <= moved <= datetime.max
