"""The advisor on account rules (MQA): from a deliberately wrong account rule (any two engaged people, no
role) over a history where sales made SQL only the accounts whose buying group included a decision maker,
its top account suggestion requires the role, keeps the recall target and raises the SQL rate; with random
decisions it suggests nothing; an account rule on score alone is never produced; and a history with
decided MQAs but no decided MQLs still gets account advice, the lead side saying what it lacks."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.common.policy import Policy, load_policy
from services.qualifier.advisor.account_candidates import account_candidates
from services.qualifier.advisor.advisor import suggest_on_entries
from services.qualifier.advisor.render import render
from services.qualifier.advisor.suggest import NotEnoughHistory, combine
from services.qualifier.eventlog import ACCOUNT_DECISION_KIND, LogEntry, from_row
from services.qualifier.lab.fold import fold_entries
from services.qualifier.lab.report import build_report
from services.qualifier.mqa import mqa_id_for
from tests.history import log_entry

ROOT = Path(__file__).parents[3]
DEFAULT = (ROOT / "policies/default.yaml").read_text(encoding="utf-8")
RIGHT_RULE = (
    "      breadth: {min_members: 3}\n"
    "      roles: {any_of: [decision_maker, champion]}\n"
    "      shared_topic: {min_members: 2}\n"
)
# any two engaged people of a target company make an MQA: no role, no shared topic
WRONG = DEFAULT.replace(RIGHT_RULE, "      breadth: {min_members: 2}\n").replace(
    'version: "2026.1"', 'version: "2026.1-wrong"'
)
START = datetime(2026, 9, 1, tzinfo=UTC).timestamp()
DAY_S = 86400.0
COMPANIES = 90
DIRECTOR = "Director of Operations"  # a decision maker (title level director)
OTHERS = ("Marketing Manager", "Marketing Specialist", "Engineer", "Sales Representative")
READS = ("wp-lead-scoring", "wp-mql-sql-guide", "ebook-ma-selection")


@pytest.fixture(scope="module")
def wrong() -> Policy:
    assert WRONG != DEFAULT and "roles: {any_of" not in WRONG.split("account_rules:")[1]
    return load_policy(WRONG, "wrong.yaml")


def buying_groups(policy: Policy, *, seed: int, random_outcomes: bool = False) -> list[LogEntry]:
    """COMPANIES companies (two days apart), each with two to four people who identify on day 0 and read
    one asset a day from day 1, a decision maker in about half of them; sales decides on each account
    after everyone has read: SQL exactly when a decision maker was in the group (or at random)."""
    rng = random.Random(seed)
    labels = {r.code: r.label for o in ("sql", "rejected") for r in policy.account_reason_codes(o)}
    entries: list[LogEntry] = []
    for n in range(COMPANIES):
        company, start = f"co{n:03d}", START + 2 * n * DAY_S
        people = rng.randint(2, 4)
        titles = [rng.choice(OTHERS) for _ in range(people)]
        has_director = rng.random() < 0.5
        if has_director:
            titles[rng.randrange(people)] = DIRECTOR
        for i, title in enumerate(titles):
            user = f"{company}-{i}"
            traits = {"email": f"{user}@{company}.example", "title": title, "industry": "manufacturing"}
            traits |= {"company": company.title(), "company_size": 250}
            entries.append(log_entry(_message("identify", start + i, user, traits=traits)))
            read = {"event": "Content Downloaded", "properties": {"asset_id": rng.choice(READS)}}
            entries.append(log_entry(_message("track", start + (i + 1) * DAY_S + i, user, **read)))
        sql = rng.random() < 0.5 if random_outcomes else has_director
        outcome, code = ("sql", "decision_maker_engaged") if sql else ("rejected", "recycle_missing_roles")
        mqa_at, decided_at = start + 2 * DAY_S, start + (people + 2) * DAY_S
        account = f"domain:{company}.example"
        data = {
            "decision_id": f"d-{company}",
            "account_id": account,
            "mqa_id": mqa_id_for(account, 1),
            "episode": 1,
            "outcome": outcome,
            "reason": {"code": code, "label": labels[code]},
            "decided_by": "sales",
            "decided_at": _iso(decided_at),
            "policy_version": policy.version,
            "rule": "buying-group-forming",
            "time_to_decision_s": decided_at - mqa_at,
        }
        when = datetime.fromtimestamp(decided_at, UTC)
        entries.append(from_row(f"d-{company}", ACCOUNT_DECISION_KIND, data, when))
    return sorted(entries, key=lambda e: (e.time, e.event_id))


def _message(kind: str, ts: float, user: str, **body: object) -> dict[str, object]:
    return {"type": kind, "messageId": f"m-{kind}-{user}-{ts}", "timestamp": _iso(ts), "userId": user, **body}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


@pytest.fixture(scope="module")
def history(wrong: Policy) -> list[LogEntry]:
    return buying_groups(wrong, seed=11)


@pytest.fixture(scope="module")
def advice(history: list[LogEntry]) -> dict[str, Any]:
    return suggest_on_entries(history, WRONG, policy_name="wrong.yaml")


def test_the_wrong_account_rule_is_told_to_require_a_decision_maker(
    advice: dict[str, Any], history: list[LogEntry], wrong: Policy
) -> None:
    [rule] = advice["account_rules"]
    assert rule["rule"] == "buying-group-forming" and rule["decided"] == COMPANIES
    assert [r["code"] for r in rule["not_sql_reasons"]] == ["recycle_missing_roles"]
    assert advice["history"]["decided_mqas"] == COMPANIES and advice["history"]["decided_mqls"] == 0
    # no decided MQL: the lead rules get no advice, and the answer says so, beside the account advice
    assert [(n["subject"], n["code"]) for n in advice["not_advised"]] == [("lead", "no_decisions")]
    shown = [s for s in advice["suggestions"] if s["subject"] == "account"]
    assert shown and shown == advice["suggestions"], advice["suggestions"]
    top = shown[0]
    assert top["edit"] == {"code": "require_role", "params": {"role": "decision_maker"}}
    assert top["rule"] == "buying-group-forming" and top["scope_code"] == "rule"
    assert top["sql_recall"]["recall"] >= 0.95
    assert top["sql_rate"]["low"] > top["baseline_sql_rate"]["high"]
    assert top["sample"] >= 30 and top["not_sql_avoided"]["total"] > 0
    assert top["sentence"].startswith(
        "Requiring a decision maker among the engaged members on 'buying-group-forming' would have avoided"
    )
    assert "SQL rate of account rule 'buying-group-forming'" in top["sentence"]
    assert "decided MQAs" in top["sentence"]
    assert '-version: "2026.1-wrong"' in top["patch"] and '+version: "2026.1-wrong.1"' in top["patch"]
    assert "+      roles:" in top["patch"] and "+        any_of: [decision_maker]" in top["patch"]
    for s in shown:
        assert s["sample"] >= 30 and s["sql_recall"]["recall"] >= 0.95
        assert s["sql_rate"]["low"] > s["baseline_sql_rate"]["high"]
    # applying it, the lab's own simulation agrees: the SQL rate of MQAs rises beyond both intervals
    # and the past account SQLs are kept
    fixed = load_policy(combine(WRONG, shown[:1]), "fixed")
    assert fixed.accounts.rule("buying-group-forming").roles is not None
    report = build_report(fold_entries(history, wrong, fixed), wrong, fixed)["accounts"]
    base, cand = report["sql_rate"]["baseline"], report["sql_rate"]["candidate"]
    assert cand["low"] > base["high"], report["sql_rate"]
    assert report["sql_recall"]["recall"] >= 0.95
    text = render(advice, "markdown")
    assert top["sentence"] in text and "Per account rule" in text


def test_random_account_decisions_give_no_account_suggestion(wrong: Policy) -> None:
    advice = suggest_on_entries(buying_groups(wrong, seed=12, random_outcomes=True), WRONG)
    assert advice["history"]["decided_mqas"] == COMPANIES and advice["candidates_tested"] > 0
    assert [s for s in advice["suggestions"] if s["subject"] == "account"] == []


@pytest.mark.parametrize("text", [DEFAULT, WRONG], ids=["default", "wrong"])
def test_no_account_candidate_is_ever_score_only(text: str) -> None:
    policy = load_policy(text, "p")
    found = account_candidates(text, policy)
    kinds = {c.kind for c in found}
    assert kinds >= {"require_role", "raise_breadth", "shared_topic", "shorten_window", "score_floor"}
    for c in found:
        assert c.subject == "account" and c.policy.rules == policy.rules  # lead rules untouched
        for rule in c.policy.accounts.rules:
            a = rule.attributes
            assert rule.breadth is not None or rule.roles is not None
            assert a.industry_is_target or a.industry_in or a.company_size_in
        if c.kind == "score_floor":  # the floor is added beside breadth, roles and attributes
            before, after = policy.accounts.rule(c.rule), c.policy.accounts.rule(c.rule)
            assert (after.breadth, after.roles, after.attributes) == (
                before.breadth,
                before.roles,
                before.attributes,
            )
            assert after.score_min is not None


def test_too_few_decisions_of_either_kind_says_what_each_lacks(history: list[LogEntry]) -> None:
    with pytest.raises(NotEnoughHistory) as refused:
        suggest_on_entries(history, WRONG, min_decisions=COMPANIES + 1)
    said = refused.value
    assert said.code == "no_decisions" and "no sales decisions recorded" in str(said)
    assert f"for account rules: only {COMPANIES} decided MQAs" in str(said)
    assert said.params["accounts"]["code"] == "too_few_account_decisions"
    assert said.params["accounts"]["params"] == {"decided": COMPANIES, "least": COMPANIES + 1}
    with pytest.raises(NotEnoughHistory, match="unknown rule 'nope'"):
        suggest_on_entries(history, WRONG, rules=("nope",))
    only = suggest_on_entries(history, WRONG, rules=("buying-group-forming",))
    assert {s["rule"] for s in only["suggestions"]} == {"buying-group-forming"}
