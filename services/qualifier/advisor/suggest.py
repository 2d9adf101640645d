"""From a fan fold to advice: per-rule statistics, each candidate's backtest, the filter, the ranking and
the sentences. Pure.

The objective, stated: among candidates that keep at least RECALL_TARGET of the past SQLs, the one that
would have sent sales the fewest not-SQL leads ranks first (most not-SQL decisions avoided; then higher
recall; then the higher lower bound of its SQL rate). A candidate is shown only when the decided MQLs
it rests on reach `min_decisions` and its SQL rate's 95% Wilson interval lies wholly above the
baseline's (the edited rule's own rate; for a retired rule, the whole policy's). Account rules are
judged the same way on decisions on MQAs (`subject` "account"), each kind gated on its own decisions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.policy import Policy

from ..lab.fold import RecordedDecision
from ..lab.join import in_window, wilson
from .backtest import FanFolded, reports
from .candidates import Candidate
from .patch import unified

RECALL_TARGET = 0.95
MIN_DECISIONS = 30
SHOWN = 10
SHARED_MIN = 0.6  # an attribute value shared by at least this share of sales-sourced SQLs is named


class NotEnoughHistory(ValueError):
    """The history cannot support advice; the message says what is missing in English, `code` and
    `params` say it as data (the API's 409 carries them, for a reader in another language)."""

    def __init__(self, message: str, code: str, **params: Any) -> None:
        super().__init__(message)
        self.code, self.params = code, params

    def __reduce__(self) -> tuple[Any, ...]:  # crosses to and from the lab's worker processes
        return (type(self), (str(self), self.code), {"params": self.params})


@dataclass(frozen=True, kw_only=True)
class Window:
    since: datetime | None = None
    until: datetime | None = None


def advise(
    folded: FanFolded,
    baseline: Policy,
    baseline_text: str,
    candidates: Sequence[Candidate],
    *,
    account_candidates: Sequence[Candidate] = (),
    min_decisions: int = MIN_DECISIONS,
    window: Window = Window(),
    policy_name: str = "policy.yaml",
    rules: tuple[str, ...] | None = None,
    refused: Mapping[str, NotEnoughHistory] | None = None,
) -> dict[str, Any]:
    """The advice on lead rules (MQL decisions) and account rules (MQA decisions), each kind judged on
    its own decisions. `refused`: the kinds already found short of history ("lead", "account"). Raises
    NotEnoughHistory when no kind the policy has can be advised on, saying what each one lacks."""
    decisions = [d for d in folded.decisions if in_window(d.mql_at, window.since, window.until)]
    account_decisions = [
        d for d in folded.account_decisions if in_window(d.mql_at, window.since, window.until)
    ]
    has_accounts = bool(baseline.accounts.rules)
    gaps = dict(refused or {})
    if "lead" not in gaps and (gap := history_gap(decisions, min_decisions, window)) is not None:
        gaps["lead"] = gap
    if has_accounts and "account" not in gaps:
        if (gap := history_gap(account_decisions, min_decisions, window, "account")) is not None:
            gaps["account"] = gap
    if "lead" in gaps and (not has_accounts or "account" in gaps):
        raise short_of_both(gaps)
    judged: list[dict[str, Any]] = []
    overall = _rate(decisions)
    per_rule = _rules(decisions, [r.name for r in baseline.rules], _labels(baseline.not_sql_reasons), rules)
    if "lead" not in gaps:
        named = [(f"c{i}", c) for i, c in enumerate(candidates)]
        backtests = reports(
            folded, baseline, [(n, c.policy) for n, c in named], since=window.since, until=window.until
        )
        judged += [_judge(c, backtests[n], per_rule, overall, min_decisions) for n, c in named]
    account_overall = _rate(account_decisions)
    account_rules = _rules(
        account_decisions,
        [r.name for r in baseline.accounts.rules],
        _labels(baseline.account_reason_codes("rejected")),
        rules,
    )
    if has_accounts and "account" not in gaps:
        from .account_backtest import account_reports

        named = [(f"a{i}", c) for i, c in enumerate(account_candidates)]
        backtests = account_reports(
            folded, baseline, [(n, c.policy) for n, c in named], since=window.since, until=window.until
        )
        judged += [_judge(c, backtests[n], account_rules, account_overall, min_decisions) for n, c in named]
    shown = sorted((j for j in judged if j["shown"]), key=_objective)
    shown = [s for s in shown if s["subject"] == "lead"][:SHOWN] + [
        s for s in shown if s["subject"] == "account"
    ][:SHOWN]
    seen_rules: set[tuple[str, str]] = set()
    for s in shown:
        s["patch"] = unified(baseline_text, s.pop("_text"), policy_name)
        s["best_for_rule"] = (s["subject"], s["rule"]) not in seen_rules
        seen_rules.add((s["subject"], s["rule"]))
    for j in judged:
        j.pop("_text", None)
    return {
        "baseline_version": baseline.version,
        "since": window.since.isoformat() if window.since else None,
        "until": window.until.isoformat() if window.until else None,
        "objective": (
            f"fewest not-SQL MQLs sent while keeping at least {RECALL_TARGET:.0%} of past SQLs; shown only "
            f"on at least {min_decisions} decided MQLs and a 95% Wilson interval above the baseline's"
        ),
        "recall_target": RECALL_TARGET,
        "min_decisions": min_decisions,
        "history": {
            "events": folded.events,
            "leads": folded.leads,
            "decided_mqls": len(decisions),
            "decided_mqas": len(account_decisions),
        },
        "sql_rate": overall,
        "rules": per_rule,
        "account_sql_rate": account_overall if has_accounts else None,
        "account_rules": account_rules if has_accounts else [],
        "not_advised": [
            {"subject": kind, "code": gap.code, "params": gap.params, "message": str(gap)}
            for kind, gap in sorted(gaps.items())
        ],
        "sales_sourced": _sales_sourced(decisions, baseline, folded.profiles),
        "candidates_tested": len(judged),
        "suggestions": shown,
        "applied": False,  # never: a suggestion is a patch for the reviewed pull request
    }


def history_gap(
    decisions: Sequence[object], min_decisions: int, window: Window, subject: str = "lead"
) -> NotEnoughHistory | None:
    """What the decisions on MQLs (`subject` "lead") or MQAs ("account") lack for advice, if anything."""
    account = subject == "account"
    if not decisions:
        what = "an MQA" if account else "an MQL"
        where = (
            f" with {what} between {window.since or 'the start'} and {window.until or 'now'}"
            if window.since or window.until
            else ""
        )
        since, until = (t.isoformat() if t else None for t in (window.since, window.until))
        return NotEnoughHistory(
            f"no sales decisions {'on MQAs ' if account else ''}recorded{where}: nothing to learn from",
            "no_account_decisions" if account else "no_decisions",
            since=since,
            until=until,
        )
    if len(decisions) < min_decisions:
        return NotEnoughHistory(
            f"only {len(decisions)} decided {'MQAs' if account else 'MQLs'} in the history, fewer than the "
            f"minimum of {min_decisions} (--min-decisions): wait for more sales decisions or lower the "
            "minimum",
            "too_few_account_decisions" if account else "too_few_decisions",
            decided=len(decisions),
            least=min_decisions,
        )
    return None


def short_of_both(gaps: Mapping[str, NotEnoughHistory]) -> NotEnoughHistory:
    """The refusal when no kind can be advised on: the lead rules' gap (its code and params, as before
    accounts existed), the account rules' beside it in words and under `params["accounts"]`."""
    lead, account = gaps["lead"], gaps.get("account")
    if account is None:
        return lead
    return NotEnoughHistory(
        f"{lead}; for account rules: {account}",
        lead.code,
        **lead.params,
        accounts={"code": account.code, "params": account.params, "message": str(account)},
    )


def unknown_rules(policy: Policy, rules: Sequence[str]) -> list[str]:
    """The names that are neither a lead rule nor an account rule of the policy."""
    names = {r.name for r in policy.rules} | {r.name for r in policy.accounts.rules}
    return [r for r in rules if r not in names]


def _rate(decisions: list[RecordedDecision]) -> dict[str, Any]:
    sqls = sum(1 for d in decisions if d.outcome == "sql")
    rate, low, high = wilson(sqls, len(decisions))
    return {"decided": len(decisions), "sqls": sqls, "rate": rate, "low": low, "high": high}


def _labels(reasons: Iterable[Any]) -> dict[str, Any]:
    return {r.code: r.label for r in reasons}


def _rules(
    decisions: list[RecordedDecision], names: list[str], labels: dict[str, Any], only: tuple[str, ...] | None
) -> list[dict[str, Any]]:
    by_rule: dict[str, list[RecordedDecision]] = defaultdict(list)
    for d in decisions:
        by_rule[d.rule or ""].append(d)
    rows = []
    for name in names:
        if only is not None and name not in only:
            continue
        found = by_rule.get(name, [])
        reasons = Counter(d.reason_code for d in found if d.outcome != "sql")
        rows.append(
            {
                "rule": name,
                **_rate(found),
                "not_sql_reasons": [
                    {"code": c, "label": labels.get(c, c), "count": n}
                    for c, n in sorted(reasons.items(), key=lambda cn: (-cn[1], cn[0]))  # not log order
                ],
            }
        )
    return rows


def _judge(
    c: Candidate,
    report: dict[str, Any],
    per_rule: list[dict[str, Any]],
    overall: dict[str, Any],
    min_decisions: int,
) -> dict[str, Any]:
    row = next((r for r in report["rules"] if r["rule"] == c.rule), None)
    base_rule = next((r for r in per_rule if r["rule"] == c.rule), None)
    if row is not None and row["candidate"] is not None and base_rule is not None:
        candidate_rate, base, scope = row["candidate"], base_rule, "rule"
    else:
        candidate_rate, base, scope = report["sql_rate"]["candidate"], overall, "policy"
    recall = report["sql_recall"]
    rejections = report["rejections"]
    sample = candidate_rate["decided"]
    account = c.subject == "account"
    why_not = []
    if sample < min_decisions:
        why_not.append(
            f"rests on {sample} decided {'MQAs' if account else 'MQLs'}, fewer than {min_decisions}"
        )
    if recall["recall"] is None or recall["recall"] < RECALL_TARGET:
        why_not.append(f"keeps {recall['still_qualified']} of {recall['past_sqls']} past SQLs")
    if candidate_rate["low"] is None or base["high"] is None or candidate_rate["low"] <= base["high"]:
        why_not.append("its SQL rate interval does not clear the baseline's")
    if scope == "rule":
        scope_words = f"account rule '{c.rule}'" if account else f"rule '{c.rule}'"
    else:
        scope_words = "all account rules" if account else "the whole policy"
    out = {
        "subject": c.subject,  # "lead": an MQL rule, judged on decided MQLs; "account": an MQA rule, on MQAs
        "rule": c.rule,
        "kind": c.kind,
        "change": c.change.words,
        "edit": {"code": c.change.code, "params": c.change.params},  # the change as data, for other languages
        "version": c.version,
        "scope": scope_words,
        "scope_code": scope,  # whose SQL rate: the edited rule's, or the whole policy's (a retired rule)
        "sample": sample,
        "sql_rate": candidate_rate,
        "baseline_sql_rate": {k: base[k] for k in ("decided", "sqls", "rate", "low", "high")},
        "sql_recall": {k: recall[k] for k in ("past_sqls", "still_qualified", "recall", "low", "high")},
        "not_sql_avoided": {
            "total": rejections["no_longer_sent"],
            "of": rejections["past_not_sqls"],
            "by_reason": [
                {"code": r["code"], "avoided": r["no_longer_sent"], "of": r["past"]}
                for r in rejections["by_reason"]
            ],
        },
        "mqls": {
            "baseline": report["mqls"]["baseline"],
            "candidate": report["mqls"]["candidate"],
            "leads_gained": report["leads_gained"]["count"],
            "leads_lost": report["leads_lost"]["count"],
        },
        "shown": not why_not,
        "why_not_shown": why_not,
        "when": c.when,
        "_text": c.text,
    }
    out["sentence"] = sentence(out)
    return out


def _objective(s: dict[str, Any]) -> tuple[Any, ...]:
    return (-s["not_sql_avoided"]["total"], -(s["sql_recall"]["recall"] or 0), -(s["sql_rate"]["low"] or 0))


def sentence(s: dict[str, Any]) -> str:
    """'Requiring title level director or above on seminar-attendee would have avoided 14 of 18
    not_decision_maker rejections ... and kept 9 of 9 SQLs.'"""
    change = s["change"][0].upper() + s["change"][1:]
    account = s.get("subject") == "account"  # said by the scope and "decided MQAs"; the head is the same
    head = f"Retiring '{s['rule']}'" if s["kind"] == "retire" else f"{_gerund(change)} on '{s['rule']}'"
    avoided = s["not_sql_avoided"]
    top = [r for r in avoided["by_reason"] if r["avoided"]][:3]
    parts = [f"{r['avoided']} of {r['of']} {r['code']}" for r in top]
    detail = f" ({', '.join(parts)})" if parts else ""
    rc, rate, base = s["sql_recall"], s["sql_rate"], s["baseline_sql_rate"]
    return (
        f"{head} would have avoided {avoided['total']} of {avoided['of']} not-SQL decisions{detail} and kept "
        f"{rc['still_qualified']} of {rc['past_sqls']} SQLs; SQL rate of {s['scope']} "
        f"{_pct(rate['rate'])} [{_pct(rate['low'])}, {_pct(rate['high'])}] on {rate['decided']} decided "
        f"{'MQAs' if account else 'MQLs'}, "
        f"against {_pct(base['rate'])} [{_pct(base['low'])}, {_pct(base['high'])}] on {base['decided']}."
    )


def _gerund(change: str) -> str:
    verb, _, rest = change.partition(" ")
    word = {
        "Require": "Requiring",
        "Accept": "Accepting",
        "Restrict": "Restricting",
        "Drop": "Dropping",
        "Count": "Counting",
        "Also": "Also requiring" if rest.startswith("require ") else "Also",
    }.get(verb, verb)
    if verb == "Also" and rest.startswith("require "):
        rest = rest.removeprefix("require ")
    return f"{word} {rest}"


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}%"


def _sales_sourced(
    decisions: list[RecordedDecision], baseline: Policy, profiles: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """SQLs sales made though no rule of the baseline fired for them, and what most of them share."""
    rules = {r.name for r in baseline.rules}
    found = [
        d for d in decisions if d.outcome == "sql" and (d.rule not in rules or not d.landed.get("baseline"))
    ]
    shared = []
    for key in ("industry", "title_level", "company_size_band"):
        values = Counter(profiles.get(d.lead_id, {}).get(key) for d in found)
        values.pop(None, None)
        for value, n in sorted(values.items(), key=lambda vn: (-vn[1], str(vn[0])))[:1]:
            if found and n / len(found) >= SHARED_MIN:
                shared.append({"attribute": key, "value": value, "leads": n})
    return {"sqls": len(found), "shared": shared, "examples": sorted({d.lead_id for d in found})[:5]}


def combine(baseline_text: str, suggestions: Sequence[dict[str, Any]]) -> str:
    """The best suggestion per rule applied together (one bumped version): what a reviewer may try
    as one pull request. Backtest it again before proposing it: edits of two rules interact."""
    from .patch import bump_version, remove_rule, replace_when

    text, _ = bump_version(baseline_text)
    for s in suggestions:
        if s.get("best_for_rule"):
            section = "account_rules" if s.get("subject") == "account" else "rules"
            text = (
                remove_rule(text, s["rule"], section)
                if s["when"] is None
                else replace_when(text, s["rule"], s["when"], section)
            )
    return text
