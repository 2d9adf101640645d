"""GET /v1/reports/funnel: the closed loop between sales decisions and marketing's MQL rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.common.problems import Problem

from ..funnel import GroupBy, Period, funnel
from .deps import PolicyDep, ReportReader, SessionDep
from .schemas import AUTH_PROBLEMS, FunnelGroup, FunnelReport, problems

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=problems(AUTH_PROBLEMS))

DESCRIPTION = """\
Per group: the **SQL rate** (SQLs / decided MQLs) and the reasons sales gave for not-SQL decisions come
first: they are the headline. MQL count is not the KPI: a rule that produces many MQLs that sales
rejects is a rule to change. Also: decided, rejected, recycled and open counts, median and p90 time to
decision, and SLA breaches (decided after the SLA, or still open past it). `since`/`until` bound the
MQLs' `qualified_at` (until is exclusive). With `group_by=reason`, MQLs not decided yet form the group
`null`. With `group_by=account_rule`, the same over account qualifications: MQAs per account rule and
the decisions on them (`mqls` then counts MQAs). Groups are ordered by SQL rate, highest first.
"""


@router.get(
    "/funnel",
    operation_id="funnelReport",
    summary="SQL rate and not-SQL reasons per rule, policy version, topic, reason or account rule",
    description=DESCRIPTION,
    responses=problems({422: "A bad parameter, or until not later than since"}),
)
async def funnel_report(
    _: ReportReader,
    session: SessionDep,
    policy: PolicyDep,
    group_by: GroupBy = "rule",
    since: Annotated[AwareDatetime | None, Query(description="MQLs qualified at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="MQLs qualified before")] = None,
) -> FunnelReport:
    if since is not None and until is not None and since >= until:
        message = "must be later than since"
        raise Problem(422, f"until: {message}", errors=[{"field": "until", "message": message}])
    groups, total = await funnel(
        session,
        group_by=group_by,
        period=Period(since=since, until=until),
        now=datetime.now(UTC),
        clock=policy.clock,
    )
    return FunnelReport(
        group_by=group_by,
        since=since,
        until=until,
        groups=[FunnelGroup(**g) for g in groups],
        total=FunnelGroup(**total),
    )
