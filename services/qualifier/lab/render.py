"""The simulation report in words: a terminal table or Markdown (for the review with sales). Pure."""

from __future__ import annotations

from typing import Any


def render(report: dict[str, Any], fmt: str) -> str:
    lines = _lines(report, markdown=fmt == "markdown")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _rate(r: dict[str, Any], what: str = "MQLs") -> str:
    if r["rate"] is None:
        return f"n/a (no decided {what})"
    return f"{_pct(r['rate'])} [{_pct(r['low'])}, {_pct(r['high'])}] on {r['decided']} decided"


def _lines(r: dict[str, Any], *, markdown: bool) -> list[str]:
    h, bullet = ("## ", "- ") if markdown else ("", "  ")
    base, cand = r["baseline_version"], r["candidate_version"]
    hist = r["history"]
    window = (
        f" (MQLs from {r['since'] or 'the start'} until {r['until'] or 'now'})"
        if r["since"] or r["until"]
        else ""
    )
    out = [
        f"{h}Policy simulation: candidate {cand} against baseline {base}{window}",
        f"history: {hist['events']} events, {hist['leads']} leads, {hist['decided_mqls']} decided MQLs "
        f"({hist['sqls']} SQL, {hist['not_sqls']} not SQL)",
        "",
        f"{h}SQL rate (95% Wilson interval)",
        f"{bullet}baseline  {base}: {_rate(r['sql_rate']['baseline'])}",
        f"{bullet}candidate {cand}: {_rate(r['sql_rate']['candidate'])}",
        "",
        f"{h}MQLs",
        f"{bullet}baseline {r['mqls']['baseline']} on {r['mql_leads']['baseline']} leads; "
        f"candidate {r['mqls']['candidate']} on {r['mql_leads']['candidate']} leads",
        f"{bullet}leads gained: {_examples(r['leads_gained'])}",
        f"{bullet}leads lost: {_examples(r['leads_lost'])}",
        "",
    ]
    rc = r["sql_recall"]
    out += [f"{h}Past SQLs (sales made them SQL)"]
    if rc["past_sqls"]:
        out += [
            f"{bullet}candidate still qualifies {rc['still_qualified']} of {rc['past_sqls']} "
            f"(recall {_pct(rc['recall'])} [{_pct(rc['low'])}, {_pct(rc['high'])}])",
            f"{bullet}timing: {rc['earlier']} earlier, {rc['same_time']} at the same time, "
            f"{rc['later']} later"
            + (
                f"; median shift {rc['median_shift_hours']:+g} h"
                if rc["median_shift_hours"] is not None
                else ""
            ),
        ]
        if rc["missed_examples"]:
            out.append(f"{bullet}missed, e.g. {', '.join(rc['missed_examples'])}")
    else:
        out.append(f"{bullet}none recorded yet")
    rj = r["rejections"]
    out += ["", f"{h}Past not-SQL decisions (rejected or recycled)"]
    if rj["past_not_sqls"]:
        out.append(f"{bullet}candidate would no longer send {rj['no_longer_sent']} of {rj['past_not_sqls']}")
        out += _by_reason(rj, markdown)
    else:
        out.append(f"{bullet}none recorded yet")
    un = r["unseen"]
    out += [
        "",
        f"{h}New MQLs sales never saw (outcome unknown)",
        f"{bullet}{un['mqls']} MQLs on {un['leads']} leads",
    ]
    if un["leads"]:
        out.append(f"{bullet}rules: " + ", ".join(f"{x['rule']} {x['mqls']}" for x in un["top_rules"]))
        out += [f"{bullet}why: {x['reason']} ({x['mqls']})" for x in un["top_reasons"]]
        out.append(f"{bullet}e.g. {', '.join(un['examples'])}")
    out += ["", f"{h}Per rule"]
    rows = [
        [
            row["rule"],
            _cell(row["baseline"], "mqls"),
            *(_cell(row["candidate"], key) for key in ("mqls", "decided", "sqls", "rate", "unknown")),
        ]
        for row in r["rules"]
    ]
    out += _table(
        ["rule", "baseline MQLs", "candidate MQLs", "decided", "SQL", "SQL rate", "unknown"], rows, markdown
    )
    if r.get("accounts"):
        out += ["", *_accounts(r["accounts"], h, bullet, markdown)]
    return out


def _accounts(a: dict[str, Any], h: str, bullet: str, markdown: bool) -> list[str]:
    """Account rules (MQAs) and the decisions sales recorded on MQAs, as the lead figures above."""
    hist, rc, rj = a["history"], a["sql_recall"], a["rejections"]
    out = [
        f"{h}Accounts (MQAs)",
        f"{bullet}{hist['decided_mqas']} decided MQAs ({hist['sqls']} SQL, {hist['not_sqls']} not SQL)",
        f"{bullet}SQL rate: baseline {_rate(a['sql_rate']['baseline'], 'MQAs')}; "
        f"candidate {_rate(a['sql_rate']['candidate'], 'MQAs')}",
        f"{bullet}MQAs: baseline {a['mqas']['baseline']} on {a['mqa_accounts']['baseline']} accounts; "
        f"candidate {a['mqas']['candidate']} on {a['mqa_accounts']['candidate']} accounts",
        f"{bullet}accounts gained: {_examples(a['accounts_gained'])}",
        f"{bullet}accounts lost: {_examples(a['accounts_lost'])}",
    ]
    if rc["past_sqls"]:
        out.append(
            f"{bullet}past account SQLs still qualified: {rc['still_qualified']} of {rc['past_sqls']} "
            f"(recall {_pct(rc['recall'])} [{_pct(rc['low'])}, {_pct(rc['high'])}])"
            + (f"; missed, e.g. {', '.join(rc['missed_examples'])}" if rc["missed_examples"] else "")
        )
    else:
        out.append(f"{bullet}past account SQLs: none recorded yet")
    if rj["past_not_sqls"]:
        out.append(
            f"{bullet}past not-SQL account decisions no longer sent: "
            f"{rj['no_longer_sent']} of {rj['past_not_sqls']}"
        )
        out += _by_reason(rj, markdown)
    rows = [
        [
            row["rule"],
            _cell(row["baseline"], "mqas"),
            _cell(row["candidate"], "mqas"),
            row["accounts_gained"],
            row["accounts_lost"],
            f"{row['past_sqls_kept']} of {row['past_sqls']}",
        ]
        for row in a["rules"]
    ]
    out += ["", f"{h}Per account rule"]
    out += _table(
        ["account rule", "baseline MQAs", "candidate MQAs", "gained", "lost", "past SQLs kept"],
        rows,
        markdown,
    )
    return out


def _cell(side: dict[str, Any] | None, key: str) -> Any:
    """A rule's figure under one policy: "-" where that policy has no such rule; a rate as a percentage."""
    if side is None:
        return "-"
    if key == "rate":
        return _pct(side["rate"])
    return side[key]


def _by_reason(rejections: dict[str, Any], markdown: bool) -> list[str]:
    """Past not-SQL decisions by reason: how many the candidate would no longer send."""
    rows = [[f"{x['code']} ({x['label']})", x["past"], x["no_longer_sent"]] for x in rejections["by_reason"]]
    return _table(["reason", "past", "no longer sent"], rows, markdown)


def _examples(group: dict[str, Any]) -> str:
    if not group["count"]:
        return "none"
    return f"{group['count']} (e.g. {', '.join(group['examples'])})"


def _table(head: list[str], rows: list[list[Any]], markdown: bool) -> list[str]:
    cells = [[str(c) for c in row] for row in rows]
    if markdown:
        return [
            "| " + " | ".join(head) + " |",
            "|" + "|".join("---" for _ in head) + "|",
            *("| " + " | ".join(row) + " |" for row in cells),
        ]
    widths = [max(len(x) for x in col) for col in zip(head, *cells, strict=False)]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*head), *(fmt.format(*row) for row in cells)]
