"""The marketing funnel page: the SQL rate by rule, topic and policy version, why sales said no, time to
decision and SLA breaches; the same `funnel` report as GET /v1/reports/funnel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.common.policy.model import in_language

from ..funnel import GroupBy, Period, funnel
from ..state import handoff_state
from .charts import Bar, bar_chart
from .i18n import N_, Viewer
from .pages import PageError, ReportReaderUser, console_state, render, viewer_for

router = APIRouter(prefix="/console", include_in_schema=False)
PERIODS = {
    "7d": (N_("Last 7 days"), 7),
    "30d": (N_("Last 30 days"), 30),
    "90d": (N_("Last 90 days"), 90),
    "all": (N_("All time"), None),
}


def rate_bars(
    groups: list[dict[str, Any]], viewer: Viewer, labels: Mapping[str, str] | None = None
) -> list[Bar]:
    # MQL count appears only here, beside the SQL rate it qualifies: never as a headline.
    return [
        Bar(
            label=viewer.gettext("(none)")
            if g["group"] is None
            else in_language((labels or {}).get(g["group"], str(g["group"])), viewer.language),
            value=None if g["sql_rate"] is None else 100 * g["sql_rate"],
            shown="–" if g["sql_rate"] is None else f"{100 * g['sql_rate']:.0f}%",
            note=viewer.gettext(
                "%(sqls)s SQL of %(decided)s decided · %(mqls)s MQLs",
                sqls=g["sqls"],
                decided=g["decided"],
                mqls=g["mqls"],
            ),
        )
        for g in groups
    ]


def reason_bars(groups: list[dict[str, Any]], viewer: Viewer, labels: Mapping[str, str]) -> list[Bar]:
    found = [g for g in groups if g["group"] is not None and g["rejected"] + g["recycled"] > 0]
    found.sort(key=lambda g: (-(g["rejected"] + g["recycled"]), g["group"]))
    return [
        Bar(
            label=in_language(labels.get(g["group"], g["group"]), viewer.language),
            value=g["rejected"] + g["recycled"],
            shown=str(g["rejected"] + g["recycled"]),
            note=viewer.gettext(
                "%(rejected)s rejected · %(recycled)s recycled",
                rejected=g["rejected"],
                recycled=g["recycled"],
            ),
        )
        for g in found
    ]


@router.get("/funnel")
async def funnel_page(request: Request, user: ReportReaderUser, period: str = "30d") -> Response:
    if period not in PERIODS:
        raise PageError(
            422, N_("Unknown period"), N_("period must be one of %(periods)s."), periods=", ".join(PERIODS)
        )
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
                session, group_by=group_by, period=window, now=now, clock=state.policy.clock
            )
    labels = {r.code: r.label for r in (*state.policy.sql, *state.policy.not_sql)}
    median = total["median_time_to_decision_s"]
    viewer = viewer_for(request)
    empty = viewer.gettext("Nothing in this period yet.")

    def chart(bars: list[Bar], title: str, max_value: float | None = 100) -> Any:
        return bar_chart(bars, title=viewer.gettext(title), max_value=max_value, empty=empty)

    topics = console_state(request).policy.topics
    context = {
        "periods": PERIODS,
        "period": period,
        "total": total,
        "median": viewer.age(median) if median is not None else "–",
        "by_rule": chart(rate_bars(reports["rule"], viewer), N_("SQL rate by MQL rule")),
        "by_topic": chart(rate_bars(reports["topic"], viewer, topics), N_("SQL rate by topic")),
        "by_version": chart(rate_bars(reports["policy_version"], viewer), N_("SQL rate by policy version")),
        "reasons": chart(reason_bars(reports["reason"], viewer, labels), N_("Why sales said not SQL"), None),
        "decision_hours": state.policy.decision_hours,
        "working_hours": state.policy.clock.business_hours is not None,
    }
    return render(request, "funnel.html", context, user=user)
