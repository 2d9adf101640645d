"""The marketing funnel page: the SQL rate by rule, topic and policy version, why sales said no, time to
decision and SLA breaches; the same `funnel` report as GET /v1/reports/funnel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..funnel import GroupBy, Period, funnel
from ..state import handoff_state
from .charts import Bar, bar_chart
from .pages import PageError, ReportReaderUser, age_text, console_state, render

router = APIRouter(prefix="/console", include_in_schema=False)
PERIODS = {
    "7d": ("Last 7 days", 7),
    "30d": ("Last 30 days", 30),
    "90d": ("Last 90 days", 90),
    "all": ("All time", None),
}


def rate_bars(groups: list[dict[str, Any]], labels: dict[str, str] | None = None) -> list[Bar]:
    # MQL count appears only here, beside the SQL rate it qualifies: never as a headline.
    return [
        Bar(
            label="(none)" if g["group"] is None else (labels or {}).get(g["group"], str(g["group"])),
            value=None if g["sql_rate"] is None else 100 * g["sql_rate"],
            shown="–" if g["sql_rate"] is None else f"{100 * g['sql_rate']:.0f}%",
            note=f"{g['sqls']} SQL of {g['decided']} decided · {g['mqls']} MQLs",
        )
        for g in groups
    ]


def reason_bars(groups: list[dict[str, Any]], labels: dict[str, str]) -> list[Bar]:
    found = [g for g in groups if g["group"] is not None and g["rejected"] + g["recycled"] > 0]
    found.sort(key=lambda g: (-(g["rejected"] + g["recycled"]), g["group"]))
    return [
        Bar(
            label=labels.get(g["group"], g["group"]),
            value=g["rejected"] + g["recycled"],
            shown=str(g["rejected"] + g["recycled"]),
            note=f"{g['rejected']} rejected · {g['recycled']} recycled",
        )
        for g in found
    ]


@router.get("/funnel")
async def funnel_page(request: Request, user: ReportReaderUser, period: str = "30d") -> Response:
    if period not in PERIODS:
        raise PageError(422, "Unknown period", f"period must be one of {', '.join(PERIODS)}.")
    state = handoff_state(request)
    now = datetime.now(UTC)
    days = PERIODS[period][1]
    window = Period(since=now - timedelta(days=days) if days else None, until=None)
    reports: dict[str, list[dict[str, Any]]] = {}
    total: dict[str, Any] = {}
    async with state.database.sessions() as session:
        group_by: GroupBy
        for group_by in ("rule", "topic", "policy_version", "reason"):
            reports[group_by], total = await funnel(
                session, group_by=group_by, period=window, now=now, decision_hours=state.policy.decision_hours
            )
    labels = {r.code: r.label for r in (*state.policy.sql, *state.policy.not_sql)}
    median = total["median_time_to_decision_s"]
    context = {
        "periods": PERIODS,
        "period": period,
        "total": total,
        "median": age_text(median) if median is not None else "–",
        "by_rule": bar_chart(rate_bars(reports["rule"]), title="SQL rate by MQL rule", max_value=100),
        "by_topic": bar_chart(
            rate_bars(reports["topic"], console_state(request).policy.topics),
            title="SQL rate by topic",
            max_value=100,
        ),
        "by_version": bar_chart(
            rate_bars(reports["policy_version"]), title="SQL rate by policy version", max_value=100
        ),
        "reasons": bar_chart(reason_bars(reports["reason"], labels), title="Why sales said not SQL"),
        "decision_hours": state.policy.decision_hours,
    }
    return render(request, "funnel.html", context, user=user)
