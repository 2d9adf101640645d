"""The fold's fast paths give exactly the answers of the general code they stand in for.

`any_rule_matches` decides whether `qualify` calls the full `evaluate`; `add_signal` replaces
re-bounding the whole evidence list on every event. Checked on every step of 300 demo leads under the
shipped policy and under one with a behaviour window, a score minimum and looser attributes (so more
rules are reached and pass).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from services.common.policy import Activity, LeadState, Policy, apply_activity, evaluate
from services.common.policy.lead import Evidence, add_signal, bound_signals, keep_datetime
from services.common.policy.matching import any_rule_matches, rule_matches
from services.common.policy.model import Attributes, Recycle
from services.qualifier.demo import generate_audience
from tests.history import parse_time

START = datetime(2025, 1, 6, tzinfo=UTC)


def _looser(policy: Policy) -> Policy:
    """Every rule reached: no attributes, a score minimum, and behaviour counted for 10 days only on
    every other rule (a recency window, checked at the event and 20 days later)."""
    rules = tuple(
        dataclasses.replace(
            rule,
            attributes=Attributes(),
            score_min=rule.score_min or 5.0,
            within_days=10.0 if i % 2 else None,
        )
        for i, rule in enumerate(policy.rules)
    )
    return dataclasses.replace(
        policy, rules=rules, recycle=Recycle(min_days_after_decision=3, allow_after_rejected=True)
    )


@pytest.mark.parametrize("variant", ["shipped", "looser"])
def test_any_rule_matches_agrees_with_evaluate_on_every_step(policy: Policy, variant: str) -> None:
    used = policy if variant == "shipped" else _looser(policy)
    states: dict[str, LeadState] = {}
    compared = matched = 0
    for message in generate_audience(300, seed=7, start=START):
        activity = Activity.from_segment(message["messageId"], message, parse_time(message["timestamp"]))
        lead = message["anonymousId"]
        state = apply_activity(states.get(lead, LeadState.new(lead)), activity, used)
        if state.known and compared % 7 == 3:  # now and then, a decided lead in a behaviour window
            state = dataclasses.replace(state, stage="recycled", episode=1, decided_at=activity.time)
        states[lead] = state
        for at in (activity.time, activity.time + timedelta(days=20)):
            results = evaluate(state, used, at).results
            assert any_rule_matches(state, used, at) == any(r.matched for r in results)
            for rule, result in zip(used.rules, results, strict=True):
                assert rule_matches(rule, state, used, at) == result.matched
            compared += 1
            matched += any(r.matched for r in results)
    assert matched > 20  # the comparison saw both answers


def test_add_signal_equals_bounding_the_whole_list() -> None:
    signals: tuple[Evidence, ...] = ()
    for i in range(400):  # out of order, several kinds, past the per-kind bound, a repeated id
        evidence = Evidence(
            event_id=f"e{(i * 7) % 390}",
            kind=("page_view", "content_download", "form_submitted")[i % 3],
            time=START + timedelta(minutes=(i * 37) % 500),
        )
        expected = bound_signals((*signals, evidence))
        signals = add_signal(signals, evidence)
        assert signals == expected


def test_storing_a_state_with_orjson_datetimes_writes_the_same_json(policy: Policy) -> None:
    """The worker stores `to_dict(keep_datetime)` through orjson: byte for byte the plain `to_dict`."""
    states: dict[str, LeadState] = {}
    for i, message in enumerate(generate_audience(200, seed=5, start=START)):
        # microseconds and a non-UTC offset on some, as a sender's timestamps may carry
        offset = timezone(timedelta(hours=2)) if i % 3 else UTC
        at = (parse_time(message["timestamp"]) + timedelta(microseconds=i % 5)).astimezone(offset)
        activity = Activity.from_segment(message["messageId"], message, at)
        lead = message["anonymousId"]
        states[lead] = apply_activity(states.get(lead, LeadState.new(lead)), activity, policy)
    for state in [*states.values(), dataclasses.replace(next(iter(states.values())), mql_at=START)]:
        assert orjson.dumps(state.to_dict(keep_datetime)) == orjson.dumps(state.to_dict())
