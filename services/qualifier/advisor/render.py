"""The advice in words: a terminal table or Markdown, each suggestion with its patch. Pure."""

from __future__ import annotations

from typing import Any

from ..lab.render import _rate, _table


def render(advice: dict[str, Any], fmt: str) -> str:
    md = fmt == "markdown"
    h, bullet = ("## ", "- ") if md else ("", "  ")
    hist = advice["history"]
    out = [
        f"{h}Policy advice for {advice['baseline_version']} (nothing applied: review each patch)",
        f"history: {hist['events']} events, {hist['leads']} leads, {hist['decided_mqls']} decided MQLs; "
        f"SQL rate {_rate(advice['sql_rate'])}",
    ]
    if advice.get("account_sql_rate"):
        rate = _rate(advice["account_sql_rate"])
        out.append(f"accounts: {hist.get('decided_mqas', 0)} decided MQAs; SQL rate {rate}")
    out += [
        f"{bullet}no advice on {n['subject']} rules: {n['message']}" for n in advice.get("not_advised") or []
    ]
    out += [f"objective: {advice['objective']}", "", f"{h}Per rule"]
    out += _per_rule(advice["rules"], md)
    if advice.get("account_rules"):
        out += ["", f"{h}Per account rule", *_per_rule(advice["account_rules"], md)]
    src = advice["sales_sourced"]
    out += ["", f"{h}SQLs no rule fired for (sales-sourced)", f"{bullet}{src['sqls']}"]
    out += [f"{bullet}{s['leads']} share {s['attribute']} = {s['value']}" for s in src["shared"]]
    out += [
        "",
        f"{h}Suggestions ({len(advice['suggestions'])} of {advice['candidates_tested']} candidates tested)",
    ]
    if not advice["suggestions"]:
        out.append(
            f"{bullet}none clears the bar: no edit keeps the SQL recall target with an SQL rate interval "
            "above the baseline's on enough decisions; the reasons sales gave do not point at one change"
        )
    for i, s in enumerate(advice["suggestions"], 1):
        made, who = ("MQAs", "accounts") if s.get("subject") == "account" else ("MQLs", "leads")
        out += [
            "",
            f"{i}. {s['sentence']}",
            f"{bullet}{made} {s['mqls']['baseline']} -> {s['mqls']['candidate']}"
            f" ({who} gained {s['mqls']['leads_gained']}, lost {s['mqls']['leads_lost']})",
        ]
        out += ["```diff", s["patch"].rstrip("\n"), "```"] if md else [s["patch"].rstrip("\n")]
    return "\n".join(out)


def _per_rule(rows: list[dict[str, Any]], md: bool) -> list[str]:
    return _table(
        ["rule", "SQL rate (95% Wilson)", "top not-SQL reasons"],
        [
            [
                r["rule"],
                _rate(r),
                ", ".join(f"{x['code']} {x['count']}" for x in r["not_sql_reasons"][:3]) or "-",
            ]
            for r in rows
        ],
        md,
    )
