"""The advisor's shared backtest gives exactly what folding the log once per candidate gives: the same
MQLs (lead, episode, rule, time) and the same landed decisions on every side, for every candidate of a
deliberately wrong policy (recency windows included); and its unworded MQLs are the lab's own."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.common.policy import Policy, load_policy
from services.qualifier.advisor.advisor import decided_by_rule, plan
from services.qualifier.advisor.backtest import BASELINE, FanFolded, fold_fan
from services.qualifier.advisor.candidates import candidates
from services.qualifier.advisor.shared import fold_shared, lead_groups, shares_facts
from services.qualifier.advisor.suggest import Window
from services.qualifier.demo import generate_audience_with_truth
from services.qualifier.lab.fold import fold_entries
from tests.history import History, recorded_history

HERE = Path(__file__).parent
WRONG = (HERE / "advisor_policies/wrong.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def wrong() -> Policy:
    return load_policy(WRONG, "wrong.yaml")


@pytest.fixture(scope="module")
def history(wrong: Policy) -> History:
    audience = generate_audience_with_truth(300, seed=12, start=datetime(2026, 9, 1, tzinfo=UTC), days=30)
    return recorded_history(*audience, wrong, seed=6)


def sides(folded: FanFolded) -> dict[str, Any]:
    mqls = {s: sorted((m.lead_id, m.episode, m.rule, m.at) for m in ms) for s, ms in folded.mqls.items()}
    landed = sorted((d.lead_id, d.decided_at, tuple(sorted(d.landed.items()))) for d in folded.decisions)
    return {"mqls": mqls, "landed": landed, "events": folded.events, "leads": folded.leads}


def test_shared_backtest_equals_one_fold_per_candidate(history: History, wrong: Policy):
    found = plan(WRONG, wrong, decided_by_rule(history.entries, Window()), min_decisions=10).leads
    policies = {f"c{i}": c.policy for i, c in enumerate(found)}
    assert "shorten_recency" in {c.kind for c in found} and len(found) >= 20
    # a candidate that changes the scoring too cannot share the baseline's states: it is folded in full
    rescored = dataclasses.replace(
        found[0].policy, scoring=dataclasses.replace(wrong.scoring, half_life_days=3.0)
    )
    assert not shares_facts(wrong, rescored) and all(shares_facts(wrong, p) for p in policies.values())
    policies["rescored"] = rescored
    shared = sides(fold_shared(history.entries, wrong, policies))
    alone = sides(fold_fan(history.entries, {BASELINE: wrong, **policies}))
    assert shared == alone
    changed = [s for s in policies if alone["mqls"][s] != alone["mqls"][BASELINE]]
    assert len(changed) >= len(policies) // 2  # the equality is not that of candidates doing nothing


def test_unworded_mqls_are_the_labs_own(history: History, wrong: Policy):
    found = candidates(WRONG, wrong)
    for c in (found[0], next(c for c in found if c.kind == "shorten_recency")):
        lab = fold_entries(history.entries, wrong, c.policy)
        fan = fold_fan(history.entries, {BASELINE: wrong, "c": c.policy})
        for side, mine in ((BASELINE, "baseline"), ("c", "candidate")):
            assert [(m.lead_id, m.episode, m.rule, m.at) for m in fan.mqls[side]] == [
                (m.lead_id, m.episode, m.rule, m.at) for m in lab.mqls[mine]
            ]


def test_lead_groups_keep_every_entry_in_applied_order(history: History, wrong: Policy):
    groups = lead_groups(history.entries, wrong)
    assert sum(len(g) for g in groups) == len(history.entries) and len(groups) > 100
    position = {id(e): i for i, e in enumerate(history.entries)}
    assert all([position[id(e)] for e in g] == sorted(position[id(e)] for e in g) for g in groups)
