"""The policy advisor's pure parts on a demo history whose hidden intent decides sales' answers: a
deliberately wrong policy is pushed toward that intent; noise gives nothing; score alone never comes out."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.common.policy import Policy, load_policy
from services.qualifier.advisor.advisor import MAX_CANDIDATES, suggest_on_entries
from services.qualifier.advisor.candidates import candidates
from services.qualifier.advisor.patch import bump_version, bumped, remove_rule, replace_when, rule_when
from services.qualifier.advisor.render import render
from services.qualifier.advisor.suggest import NotEnoughHistory, Window, combine
from services.qualifier.demo import generate_audience_with_truth
from services.qualifier.lab.fold import fold_entries
from services.qualifier.lab.report import build_report
from tests.history import History, recorded_history

HERE = Path(__file__).parent
WRONG = (HERE / "advisor_policies/wrong.yaml").read_text(encoding="utf-8")
DEFAULT = (HERE.parents[2] / "policies/default.yaml").read_text(encoding="utf-8")
START = datetime(2026, 9, 1, tzinfo=UTC)
LEADS = 900


@pytest.fixture(scope="module")
def wrong() -> Policy:
    return load_policy(WRONG, "wrong.yaml")


@pytest.fixture(scope="module")
def audience() -> tuple[list[dict[str, Any]], dict[str, str]]:
    return generate_audience_with_truth(LEADS, seed=8, start=START, days=30)


@pytest.fixture(scope="module")
def history(audience, wrong: Policy) -> History:
    return recorded_history(*audience, wrong, seed=2)


@pytest.fixture(scope="module")
def advice(history: History) -> dict[str, Any]:
    return suggest_on_entries(history.entries, WRONG, policy_name="wrong.yaml")


def test_version_bump_and_rule_patches_keep_the_rest_of_the_file():
    assert bumped("2026.1") == "2026.2" and bumped("v3-beta") == "v3-beta.1" and bumped("9") == "10"
    text, version = bump_version(DEFAULT)
    assert version == "2026.2" and 'version: "2026.2"' in text
    when = rule_when(DEFAULT, "seminar-attendee")
    when["attributes"]["title_level_at_least"] = "director"
    patched = replace_when(text, "seminar-attendee", when)
    changed = [(a, b) for a, b in zip(DEFAULT.splitlines(), patched.splitlines(), strict=True) if a != b]
    assert [b.strip() for _, b in changed] == ['version: "2026.2"', "title_level_at_least: director"]
    policy = load_policy(patched, "patched")
    assert policy.rule("seminar-attendee").attributes.title_level_at_least == "director"
    assert policy.rule("topic-researcher") == load_policy(DEFAULT, "d").rule("topic-researcher")
    retired = load_policy(remove_rule(text, "pricing-after-content"), "retired")
    assert [r.name for r in retired.rules] == ["seminar-attendee", "topic-researcher", "hand-raiser"]


@pytest.mark.parametrize("text", [DEFAULT, WRONG], ids=["default", "wrong"])
def test_no_candidate_is_ever_score_only(text: str):
    policy = load_policy(text, "p")
    found = candidates(text, policy)
    assert found and {c.kind for c in found} >= {"raise_title", "score_floor", "retire", "restrict_size"}
    for c in found:
        for rule in c.policy.rules:
            a = rule.attributes
            assert rule.behaviour is not None
            assert a.industry_is_target or a.industry_in or a.title_level_at_least or a.company_size_in
        if c.kind == "score_floor":  # the floor is added beside behaviour and attributes, never instead
            before, after = policy.rule(c.rule), c.policy.rule(c.rule)
            assert after.behaviour == before.behaviour and after.attributes == before.attributes
            assert after.score_min is not None


def test_wrong_policy_is_pushed_toward_the_hidden_intent(advice: dict[str, Any], history: History, wrong):
    assert advice["applied"] is False and advice["candidates_tested"] <= MAX_CANDIDATES
    shown = advice["suggestions"]
    assert shown, advice
    # the demo's hot leads are managers and above in target industries at real companies; the wrong
    # policy let students, staff and one-person shops through: the top edits tighten who the lead is
    assert shown[0]["kind"] in {"raise_title", "restrict_size", "second_behaviour", "higher_count"}
    assert any(s["kind"] == "raise_title" for s in shown)
    for s in shown:
        assert s["sample"] >= 30 and s["sql_recall"]["recall"] >= 0.95
        assert s["sql_rate"]["low"] > s["baseline_sql_rate"]["high"]
        assert s["sentence"].count(" of ") >= 2 and s["rule"] in s["sentence"]
        assert '+version: "2026.2-wrong"' not in s["patch"] and "-version:" in s["patch"]
    combined = load_policy(combine(WRONG, shown), "combined")
    report = build_report(fold_entries(history.entries, wrong, combined), wrong, combined)
    base, cand = report["sql_rate"]["baseline"], report["sql_rate"]["candidate"]
    assert cand["low"] > base["high"], report["sql_rate"]
    assert report["sql_recall"]["recall"] >= 0.95
    text = render(advice, "markdown")
    assert "```diff" in text and shown[0]["sentence"] in text


def test_random_decisions_give_no_suggestion(audience, wrong: Policy):
    messages, truth = audience
    rng = random.Random(5)
    intents = list(truth.values())
    noise = {lead: rng.choice(intents) for lead in truth}  # sales' answers no longer follow behaviour
    history = recorded_history(messages, noise, wrong, seed=3)
    advice = suggest_on_entries(history.entries, WRONG)
    assert advice["suggestions"] == []
    assert "none clears the bar" in render(advice, "table")


def test_bad_input_says_what_is_missing(history: History):
    with pytest.raises(NotEnoughHistory, match="unknown rule 'nope'"):
        suggest_on_entries(history.entries, WRONG, rules=("nope",))
    with pytest.raises(NotEnoughHistory, match="no sales decisions recorded with an MQL between"):
        suggest_on_entries(
            history.entries, WRONG, window=Window(since=datetime(2030, 1, 1, tzinfo=UTC)), min_decisions=1
        )
    with pytest.raises(NotEnoughHistory, match="fewer than the minimum of 100000"):
        suggest_on_entries(history.entries, WRONG, min_decisions=100_000)


@pytest.mark.parametrize("module", ["patch", "candidates", "backtest", "suggest", "render", "advisor"])
def test_the_advisors_core_is_pure(module: str):
    import ast

    tree = ast.parse((HERE.parents[2] / f"services/qualifier/advisor/{module}.py").read_text())
    imported = {
        (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    assert not {i for i in imported if i.split(".")[0] in {"sqlalchemy", "asyncpg", "fastapi", "aiokafka"}}
    assert "now(" not in ast.unparse(tree)
