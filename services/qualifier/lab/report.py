"""The simulation report as plain data (JSON types only): what the CLI prints, the API returns and the
console shows. Pure: built from a `Folded` pass and the two policies.

SQL rate is the headline, with its Wilson interval and the number of decided MQLs it rests on; MQL
counts are context, never the goal.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from services.common.policy import Policy

from .fold import SIDES, Folded, RecordedDecision, SimulatedMql
from .join import Match, by_decision, in_window, match_side, wilson

EXAMPLES = 5
TOP = 5
TOP_REASONS = 8  # reasons repeat the attribute sentences: show enough to reach the behaviour ones
SAME_TIME_S = 60.0  # an MQL within a minute of the recorded one is "at the same time"


def build_report(
    folded: Folded,
    baseline: Policy,
    candidate: Policy,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    mqls = {s: [m for m in folded.mqls[s] if in_window(m.at, since, until)] for s in SIDES}
    decisions = [d for d in folded.decisions if in_window(d.mql_at, since, until)]
    matches = {s: match_side(s, mqls[s], decisions) for s in SIDES}
    leads = {s: {m.lead_id for m in mqls[s]} for s in SIDES}
    decided_leads = {d.lead_id for d in decisions}
    return {
        "baseline_version": baseline.version,
        "candidate_version": candidate.version,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "history": {"events": folded.events, "leads": folded.leads, **_decided("decided_mqls", decisions)},
        "sql_rate": {s: _rate(matches[s]) for s in SIDES},
        "mqls": {s: len(mqls[s]) for s in SIDES},
        "mql_leads": {s: len(leads[s]) for s in SIDES},
        "leads_gained": _leads(leads["candidate"] - leads["baseline"]),
        "leads_lost": _leads(leads["baseline"] - leads["candidate"]),
        "sql_recall": _recall(decisions, by_decision(matches["candidate"])),
        "rejections": _rejections(decisions, by_decision(matches["candidate"]), _labels(baseline, candidate)),
        "unseen": _unseen(matches["candidate"], leads["baseline"] | decided_leads),
        "rules": _rules(matches, [r.name for r in baseline.rules], [r.name for r in candidate.rules]),
        "accounts": _accounts(folded, baseline, candidate, since, until),
    }


def _accounts(
    folded: Folded, baseline: Policy, candidate: Policy, since: datetime | None, until: datetime | None
) -> dict[str, Any] | None:
    """The same figures for account rules: MQAs joined with the decisions sales recorded on MQAs (the
    account id stands where a lead id does). None when neither policy has account rules."""
    if not (baseline.accounts.rules or candidate.accounts.rules):
        return None
    mqas = {s: [m for m in folded.mqas[s] if in_window(m.at, since, until)] for s in SIDES}
    decisions = [d for d in folded.account_decisions if in_window(d.mql_at, since, until)]
    matches = {s: match_side(s, mqas[s], decisions) for s in SIDES}
    accounts = {s: {m.lead_id for m in mqas[s]} for s in SIDES}
    answered = by_decision(matches["candidate"])
    names = {
        s: [r.name for r in p.accounts.rules] for s, p in (("baseline", baseline), ("candidate", candidate))
    }
    rules = _rules(matches, names["baseline"], names["candidate"], counted="mqas")
    for row in rules:  # per rule, who it gains and loses and which past SQLs it keeps
        name = row["rule"]
        made = {s: {m.lead_id for m in mqas[s] if m.rule == name} for s in SIDES}
        sqls = [d for d in decisions if d.outcome == "sql" and d.rule == name]
        row["accounts_gained"] = len(made["candidate"] - accounts["baseline"])
        row["accounts_lost"] = len(made["baseline"] - accounts["candidate"])
        row["past_sqls"] = len(sqls)
        row["past_sqls_kept"] = sum(1 for d in sqls if id(d) in answered)
    labels = {r.code: r.label for p in (baseline, candidate) for r in p.account_reason_codes("rejected")}
    return {
        "history": _decided("decided_mqas", decisions),
        "sql_rate": {s: _rate(matches[s]) for s in SIDES},
        "mqas": {s: len(mqas[s]) for s in SIDES},
        "mqa_accounts": {s: len(accounts[s]) for s in SIDES},
        "accounts_gained": _leads(accounts["candidate"] - accounts["baseline"]),
        "accounts_lost": _leads(accounts["baseline"] - accounts["candidate"]),
        "sql_recall": _recall(decisions, answered),
        "rejections": _rejections(decisions, answered, labels),
        "rules": rules,
    }


def _decided(key: str, decisions: list[RecordedDecision]) -> dict[str, int]:
    sqls = sum(1 for d in decisions if d.outcome == "sql")
    return {key: len(decisions), "sqls": sqls, "not_sqls": len(decisions) - sqls}


def _labels(*policies: Policy) -> dict[str, Any]:
    return {r.code: r.label for p in policies for r in p.not_sql_reasons}


def _rate(matches: list[Match]) -> dict[str, Any]:
    decided = [m for m in matches if m.decision is not None]
    sqls = sum(1 for m in decided if m.decision is not None and m.decision.outcome == "sql")
    rate, low, high = wilson(sqls, len(decided))
    return {"decided": len(decided), "sqls": sqls, "rate": rate, "low": low, "high": high}


def _leads(ids: set[str]) -> dict[str, Any]:
    return {"count": len(ids), "examples": sorted(ids)[:EXAMPLES]}


def _recall(decisions: list[RecordedDecision], answered: dict[int, SimulatedMql]) -> dict[str, Any]:
    sqls = [d for d in decisions if d.outcome == "sql"]
    shifts = [(answered[id(d)].at - d.mql_at).total_seconds() for d in sqls if id(d) in answered]
    missed = sorted({d.lead_id for d in sqls if id(d) not in answered})
    rate, low, high = wilson(len(shifts), len(sqls))
    return {
        "past_sqls": len(sqls),
        "still_qualified": len(shifts),
        "recall": rate,
        "low": low,
        "high": high,
        "earlier": sum(1 for s in shifts if s < -SAME_TIME_S),
        "same_time": sum(1 for s in shifts if abs(s) <= SAME_TIME_S),
        "later": sum(1 for s in shifts if s > SAME_TIME_S),
        "median_shift_hours": round(statistics.median(shifts) / 3600, 2) if shifts else None,
        "missed_examples": missed[:EXAMPLES],
    }


def _rejections(
    decisions: list[RecordedDecision], answered: dict[int, SimulatedMql], labels: dict[str, Any]
) -> dict[str, Any]:
    not_sql = [d for d in decisions if d.outcome != "sql"]
    past: Counter[str] = Counter(d.reason_code for d in not_sql)
    dropped: Counter[str] = Counter(d.reason_code for d in not_sql if id(d) not in answered)
    reasons = [
        {"code": code, "label": labels.get(code, code), "past": n, "no_longer_sent": dropped[code]}
        for code, n in sorted(past.items(), key=lambda kv: (-dropped[kv[0]], -kv[1], kv[0]))
    ]
    return {
        "past_not_sqls": len(not_sql),
        "no_longer_sent": sum(dropped.values()),
        "still_sent": len(not_sql) - sum(dropped.values()),
        "by_outcome": dict(Counter(d.outcome for d in not_sql if id(d) not in answered)),
        "by_reason": reasons,
    }


def _unseen(matches: list[Match], seen: set[str]) -> dict[str, Any]:
    """Candidate MQLs on leads sales never saw: no MQL under the baseline and no recorded decision."""
    new = [m.mql for m in matches if m.decision is None and m.mql.lead_id not in seen]
    rules: Counter[str] = Counter(m.rule for m in new)
    reasons: Counter[str] = Counter(r for m in new for r in m.reasons)
    return {
        "leads": len({m.lead_id for m in new}),
        "mqls": len(new),
        "top_rules": [{"rule": r, "mqls": n} for r, n in rules.most_common(TOP)],
        "top_reasons": [{"reason": r, "mqls": n} for r, n in reasons.most_common(TOP_REASONS)],
        "examples": sorted({m.lead_id for m in new})[:EXAMPLES],
    }


def _rules(
    matches: dict[str, list[Match]], baseline: list[str], candidate: list[str], counted: str = "mqls"
) -> list[dict[str, Any]]:
    names = baseline + [name for name in candidate if name not in baseline]
    grouped: dict[str, dict[str, list[Match]]] = {s: defaultdict(list) for s in SIDES}
    for side in SIDES:
        for m in matches[side]:
            grouped[side][m.mql.rule].append(m)
    in_policy = {"baseline": set(baseline), "candidate": set(candidate)}
    rows = []
    for name in names:
        row: dict[str, Any] = {"rule": name}
        for side in SIDES:
            found = grouped[side].get(name, [])
            row[side] = (
                {counted: len(found), **_rate(found), "unknown": sum(1 for m in found if m.decision is None)}
                if name in in_policy[side]
                else None
            )
        rows.append(row)
    return rows
