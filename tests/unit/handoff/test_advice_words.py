"""The advisor's suggestions worded by the console from their edit codes: every edit the advisor can make
has Japanese words (names in the default vocabulary's Japanese, topics by their Japanese label, not-SQL
reasons by their label), and in English the console says exactly the CLI's sentence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.common.policy import Policy, load_policy
from services.common.policy.model import in_language
from services.handoff.console.advice_words import HEADS, objective_text, refusal_text, suggestion_text
from services.handoff.console.i18n import Viewer
from services.qualifier.advisor.account_candidates import account_candidates
from services.qualifier.advisor.candidates import CHANGE_WORDS, Candidate, candidates
from services.qualifier.advisor.suggest import sentence

ROOT = Path(__file__).parents[3]
DEFAULT = (ROOT / "policies/default.yaml").read_text(encoding="utf-8")
WRONG = (ROOT / "tests/unit/qualifier/advisor_policies/wrong.yaml").read_text(encoding="utf-8")
JA, EN = Viewer("ja", ZoneInfo("Asia/Tokyo")), Viewer("en", ZoneInfo("Asia/Tokyo"))
# English that a Japanese sentence may not contain (names of the policy's own, like rule names, may stay)
ENGLISH = re.compile(r"\b(?:[Rr]equir|[Aa]ccept|Drop|Restrict|Retir|Count|Also|would|decided|against|rule ')")


def suggestion(c: Candidate, *, reasons: list[dict[str, Any]]) -> dict[str, Any]:
    """The fields the qualifier gives a suggestion (suggest._judge), with made-up numbers."""
    s = {
        "rule": c.rule,
        "kind": c.kind,
        "change": c.change.words,
        "edit": {"code": c.change.code, "params": c.change.params},
        "scope": f"rule '{c.rule}'",
        "scope_code": "rule",
        "sql_rate": {"decided": 40, "sqls": 24, "rate": 0.6, "low": 0.45, "high": 0.73},
        "baseline_sql_rate": {"decided": 90, "sqls": 27, "rate": 0.3, "low": 0.21, "high": 0.4},
        "sql_recall": {"past_sqls": 27, "still_qualified": 26, "recall": 26 / 27},
        "not_sql_avoided": {"total": 48, "of": 63, "by_reason": reasons},
    }
    s["sentence"] = sentence(s)
    return s


@pytest.fixture(scope="module", params=[DEFAULT, WRONG], ids=["default", "wrong"])
def policy_and_candidates(request: pytest.FixtureRequest) -> tuple[Policy, list[Candidate]]:
    policy = load_policy(request.param, "p")
    return policy, candidates(request.param, policy)


def test_every_edit_the_advisor_makes_has_console_words() -> None:
    assert set(CHANGE_WORDS) <= set(HEADS)


def test_english_is_the_clis_sentence(policy_and_candidates: tuple[Policy, list[Candidate]]) -> None:
    policy, found = policy_and_candidates
    assert len({c.change.code for c in found}) >= 10
    for c in found:
        s = suggestion(c, reasons=[])
        assert suggestion_text(s, EN, policy) == s["sentence"]


def test_japanese_from_the_codes(policy_and_candidates: tuple[Policy, list[Candidate]]) -> None:
    policy, found = policy_and_candidates
    reasons = [
        {"code": "not_decision_maker", "avoided": 30, "of": 35},
        {"code": "no_budget", "avoided": 18, "of": 20},
        {"code": "no_timing", "avoided": 0, "of": 8},
    ]
    labels = {r.code: in_language(r.label, "ja") for r in policy.not_sql_reasons}
    detail = f"（「{labels['not_decision_maker']}」35件中30件、「{labels['no_budget']}」20件中18件）"
    for c in found:
        said = suggestion_text(suggestion(c, reasons=reasons), JA, policy)
        assert said.startswith(f"ルール「{c.rule}」"), said
        assert f"SQLにならなかった判定63件のうち48件{detail}" in said, said
        assert "過去のSQL 27件のうち26件" in said and "60.0%［45.0%〜73.0%］" in said, said
        assert not ENGLISH.search(said.replace(detail, "")), said
    heads = {
        (c.change.code, suggestion_text(suggestion(c, reasons=[]), JA, policy).split("、SQL")[0])
        for c in found
    }
    assert (
        "require_title_level",
        "ルール「seminar-attendee」の役職条件を部長クラス以上にしていれば",
    ) in heads
    assert (
        "require_company_size",
        "ルール「seminar-attendee」の企業規模を中堅、大企業に絞っていれば",
    ) in heads
    assert ("retire", "ルール「seminar-attendee」を廃止していれば") in heads
    assert any(code == "score_floor" and "エンゲージメントスコア" in head for code, head in heads)


def test_a_suggestion_without_an_edit_keeps_its_english_sentence() -> None:
    policy = load_policy(DEFAULT, "p")
    older = {"rule": "seminar-attendee", "sentence": "Requiring … on 'seminar-attendee' would have …"}
    assert suggestion_text(older, JA, policy) == older["sentence"]
    odd = {**older, "edit": {"code": "raise_title", "params": {"level": 3}}, "not_sql_avoided": None}
    assert suggestion_text(odd, JA, policy) == older["sentence"]


def test_the_objective_in_both_languages() -> None:
    advice = {"objective": "fewest …", "recall_target": 0.95, "min_decisions": 30}
    assert objective_text(advice, EN).startswith("fewest not-SQL MQLs sent while keeping at least 95% of")
    assert "95%" in objective_text(advice, JA) and "30件" in objective_text(advice, JA)
    assert objective_text({"objective": "as it was"}, JA) == "as it was"


def account_suggestion(c: Candidate, *, reasons: list[dict[str, Any]]) -> dict[str, Any]:
    """An account-rule suggestion as the qualifier gives it (judged on decided MQAs)."""
    s = suggestion(c, reasons=reasons)
    s |= {"subject": "account", "scope": f"account rule '{c.rule}'"}
    s["sentence"] = sentence(s)
    return s


def test_account_rule_edits_in_both_languages() -> None:
    policy = load_policy(DEFAULT, "p")
    found = account_candidates(DEFAULT, policy)
    assert {c.change.code for c in found} >= {
        "require_role",
        "raise_min_members",
        "require_shared_topic",
        "shorten_engagement_window",
        "account_score_floor",
        "require_company_size",
    }
    reasons = [{"code": "no_shared_project", "avoided": 5, "of": 7}]
    label = in_language(policy.account_reason_codes("rejected")[0].label, "ja")
    for c in found:
        english = account_suggestion(c, reasons=[])
        assert suggestion_text(english, EN, policy) == english["sentence"]  # the CLI's sentence
        assert "decided MQAs" in english["sentence"] and "SQL rate of account rule" in english["sentence"]
        said = suggestion_text(account_suggestion(c, reasons=reasons), JA, policy)
        assert f"「{label}」7件中5件" in said and "判定済みMQA 40件" in said, said
        assert "アカウントルール「buying-group-forming」のSQL化率" in said, said
        assert not ENGLISH.search(said), said
    role = next(c for c in found if c.change.params.get("role") == "decision_maker")
    assert suggestion_text(account_suggestion(role, reasons=[]), JA, policy).startswith(
        "アカウントルール「buying-group-forming」で関与メンバーに決裁者がいることを条件にしていれば"
    )


def test_a_refusal_says_what_each_kind_of_rule_lacks() -> None:
    problem = {
        "detail": "…",
        "code": "no_decisions",
        "params": {
            "since": None,
            "until": None,
            "accounts": {"code": "too_few_account_decisions", "params": {"decided": 4, "least": 30}},
        },
    }
    said = refusal_text(problem, JA)
    assert said.startswith("営業の判定がまだ記録されていない") and "判定済みMQAは4件" in said, said
    assert refusal_text(problem, EN) == (
        "no sales decisions recorded: nothing to learn from; for account rules: only 4 decided MQAs in "
        "the history, fewer than the minimum of 30: wait for more sales decisions or lower the minimum"
    )
