"""Identity stitching, episodes and decisions, and the jsonb round trip."""

from __future__ import annotations

import json

from services.common.policy import (
    LeadState,
    apply_decision,
    evaluate,
    mark_mql,
    merge_states,
    qualify,
)
from tests.unit.common.policy.conftest import act, at, attended, downloaded, fold, identify


def test_anonymous_downloads_then_identify_fire_the_rule_retroactively(policy):
    anon = fold(
        policy,
        [
            downloaded("wp-lead-scoring", at(1), user_id=None, anonymous_id="a9", event_id="anon-1"),
            downloaded("wp-mql-sql-guide", at(2), user_id=None, anonymous_id="a9", event_id="anon-2"),
        ],
        LeadState.new("anon:a9"),
    )
    assert evaluate(anon, policy, at(2)).mql is None  # anonymous: never
    known = fold(policy, [identify(at(3), user_id="u9", anonymous_id="a9")], LeadState.new("u9"))
    assert evaluate(known, policy, at(3)).mql is None  # attributes alone: never
    merged = merge_states(known, anon, policy)
    assert merged.lead_id == "u9" and merged.anonymous_ids == ("a9",)
    assert merged.counts["content_download"] == 2 and merged.first_activity_at == at(1)
    mql = evaluate(merged, policy, at(3)).mql
    assert mql is not None and mql.rule_name == "topic-researcher"
    evidence = [e["event_id"] for e in mql.explanation["reasons"][0]["evidence"]]
    assert evidence == ["anon-1", "anon-2"]


def test_merge_is_the_same_as_folding_everything_into_one_lead(policy):
    a_part = [downloaded("wp-lead-scoring", at(1), event_id="x1"), attended(at(5), event_id="x2")]
    b_part = [identify(at(2), event_id="x3"), downloaded("ebook-ma-selection", at(30), event_id="x4")]
    merged = merge_states(fold(policy, b_part, LeadState.new("u1")), fold(policy, a_part), policy)
    single = fold(policy, a_part + b_part, LeadState.new("u1"))
    for kind in single.scores:
        assert abs(merged.scores[kind].value - single.scores[kind].value) < 1e-9
    assert merged.signals == single.signals
    assert merged.attributes == single.attributes


def test_merge_keeps_primary_attributes_and_fills_gaps(policy):
    primary = fold(
        policy, [act("identify", traits={"email": "k@a.example", "title": "CEO"})], LeadState.new("u1")
    )
    secondary = fold(policy, [identify(title="Engineer")])
    merged = merge_states(primary, secondary, policy)
    assert merged.attributes["title"] == "CEO" and merged.attributes["industry"] == "manufacturing"


def test_one_mql_per_episode(policy):
    state = fold(policy, [identify(), attended(at(1))])
    state, first = qualify(state, policy, at(1))
    assert first is not None and state.stage == "mql" and state.episode == 1
    state = fold(
        policy,
        [attended(at(2)), downloaded("wp-lead-scoring", at(3)), downloaded("wp-mql-sql-guide", at(4))],
        state,
    )
    result = evaluate(state, policy, at(5))
    assert result.mql is None and "episode 1 is open" in result.blocked
    assert apply_decision(state, "sql", at(6), episode=1).stage == "sql"
    assert evaluate(apply_decision(state, "sql", at(6), 1), policy, at(7)).mql is None


def test_after_rejection_only_new_activity_opens_episode_two(policy):
    state = mark_mql(fold(policy, [identify(), attended(at(1))]), at(1))
    state = apply_decision(state, "rejected", at(24), episode=1)
    assert state.stage == "rejected" and state.decided_at == at(24)
    old = evaluate(state, policy, at(25))
    assert old.mql is None  # the seminar before the decision does not fire again
    assert "since the last decision on 2026-11-03" in old.results[0].missing[0]
    late_arrival = fold(policy, [attended(at(20), event_id="late")], state)  # replayed, but older
    assert evaluate(late_arrival, policy, at(26)).mql is None
    state = fold(
        policy, [downloaded("wp-cdp-basics", at(30)), downloaded("guide-crm-integration", at(31))], state
    )
    again = evaluate(state, policy, at(32))
    assert again.mql is not None and again.mql.episode == 2 and again.mql.rule_name == "topic-researcher"
    assert mark_mql(state, at(32)).episode == 2


def test_recycled_lead_keeps_its_attributes_and_score_history(policy):
    state = mark_mql(fold(policy, [identify(), attended(at(1))]), at(1))
    state = apply_decision(state, "recycled", at(2), episode=1)
    assert state.stage == "recycled" and state.attributes["title_level"] == "manager"
    assert state.scores["seminar_attended"].value == 15
    state = fold(policy, [attended(at(48), event_id="second-seminar")], state)
    mql = evaluate(state, policy, at(48)).mql
    assert mql is not None and mql.episode == 2
    assert [e["event_id"] for e in mql.explanation["reasons"][0]["evidence"]] == ["second-seminar"]


def test_a_decision_for_a_stale_episode_is_ignored(policy):
    state = mark_mql(fold(policy, [identify(), attended(at(1))]), at(1))
    state = mark_mql(apply_decision(state, "recycled", at(2), 1), at(50))
    assert state.episode == 2
    assert apply_decision(state, "rejected", at(51), episode=1) == state
    assert apply_decision(state, "sql", at(52), episode=2).stage == "sql"


def test_state_round_trips_through_json(policy):
    state = fold(
        policy,
        [
            act("page", "Home", user_id=None, path="/pricing"),
            identify(at(1)),
            attended(at(2)),
            downloaded("wp-lead-scoring", at(3)),
            act("track", "Demo Requested", time=at(4)),
        ],
    )
    state = apply_decision(mark_mql(state, at(4)), "recycled", at(5), 1)
    stored = json.loads(json.dumps(state.to_dict()))
    assert LeadState.from_dict(stored) == state
    assert stored["stage"] == "recycled" and stored["decided_at"] == at(5).isoformat()
    assert LeadState.from_dict(LeadState.new("x").to_dict()) == LeadState.new("x")
