"""The closed-loop report: per rule, policy version, topic or decision reason, how many MQLs sales
turned into SQLs, and why the others were not. SQL rate and reasons are the headline, not MQL count.
Per account rule, the same over MQAs (account qualifications) and the decisions on them: both registers
have the same columns, so one set of queries reads either."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Table, func, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.policy.timemath import aware

from .sla import SlaClock
from .tables import account_decisions, decisions, mqas, mqls

GroupBy = Literal["rule", "policy_version", "topic", "reason", "account_rule"]
TOP_REASONS = 5
_NO_GROUP: ColumnElement[Any] = null()  # the total: one row over everything


@dataclass(frozen=True)
class _Register:
    """Qualifications (MQLs or MQAs) and the decisions on them, joined by the qualification's id."""

    qualified: Table
    decided: Table
    key: str  # mql_id or mqa_id

    def joined(self, *, outer: bool = True) -> Any:
        on = self.decided.c[self.key] == self.qualified.c[self.key]
        return (self.qualified.outerjoin if outer else self.qualified.join)(self.decided, on)


_LEADS = _Register(mqls, decisions, "mql_id")
_ACCOUNTS = _Register(mqas, account_decisions, "mqa_id")
GROUPS: dict[str, tuple[_Register, ColumnElement[Any]]] = {
    "rule": (_LEADS, mqls.c.rule),
    "policy_version": (_LEADS, mqls.c.policy_version),
    "topic": (_LEADS, mqls.c.topic),
    "reason": (_LEADS, decisions.c.reason_code),
    "account_rule": (_ACCOUNTS, mqas.c.rule),
}


@dataclass(frozen=True, kw_only=True)
class Period:
    since: datetime | None
    until: datetime | None


async def funnel(
    session: AsyncSession, *, group_by: GroupBy, period: Period, now: datetime, clock: SlaClock
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(one row per group, the total over all groups), each shaped like the API's FunnelGroup."""
    register, key = GROUPS[group_by]
    groups = await _counts(session, register, key, period, now, clock)
    total = await _counts(session, register, _NO_GROUP, period, now, clock)
    reasons = await _not_sql_reasons(session, register, key, period)
    all_reasons = await _not_sql_reasons(session, register, _NO_GROUP, period)
    rows = [{**g, "top_not_sql_reasons": reasons.get(g["group"], [])} for g in groups]
    rows.sort(key=lambda g: (g["sql_rate"] is None, -(g["sql_rate"] or 0), -g["mqls"], str(g["group"])))
    empty = _shape(None, 0, 0, 0, 0, 0, None, None, 0)
    overall = {**(total[0] if total else empty), "top_not_sql_reasons": all_reasons.get(None, [])}
    return rows, overall


def _in_period(query: Any, register: _Register, period: Period) -> Any:
    qualified_at = register.qualified.c.qualified_at
    if period.since is not None:
        query = query.where(qualified_at >= period.since)
    if period.until is not None:
        query = query.where(qualified_at < period.until)
    return query


async def _counts(
    session: AsyncSession,
    register: _Register,
    key: ColumnElement[Any],
    period: Period,
    now: datetime,
    clock: SlaClock,
) -> list[dict[str, Any]]:
    _m, _d = register.qualified.c, register.decided.c
    due = _m.qualified_at + literal(timedelta(hours=clock.decision_hours))
    decided_or_now = func.coalesce(_d.decided_at, literal(now))
    query = select(
        key.label("grp"),
        func.count().label("mqls"),
        func.count(_d.decision_id).label("decided"),
        func.count().filter(_d.outcome == "sql").label("sqls"),
        func.count().filter(_d.outcome == "rejected").label("rejected"),
        func.count().filter(_d.outcome == "recycled").label("recycled"),
        func.percentile_cont(0.5).within_group(_d.time_to_decision_s).label("median"),
        func.percentile_cont(0.9).within_group(_d.time_to_decision_s).label("p90"),
        func.count().filter(decided_or_now >= due).label("breaches"),
    ).select_from(register.joined())
    query = _in_period(query, register, period)
    if key is not _NO_GROUP:
        query = query.group_by(key)
    rows = (await session.execute(query)).all()
    # Working hours are no SQL interval: then the breaches are counted from each MQL's due time here.
    late = None
    if clock.business_hours:
        late = await _late_on_working_clock(session, register, key, period, now, clock)
    return [
        _shape(r.grp, r.mqls, r.decided, r.sqls, r.rejected, r.recycled, r.median, r.p90, r.breaches)
        if late is None
        else _shape(r.grp, r.mqls, r.decided, r.sqls, r.rejected, r.recycled, r.median, r.p90, late[r.grp])
        for r in rows
    ]


async def _late_on_working_clock(
    session: AsyncSession,
    register: _Register,
    key: ColumnElement[Any],
    period: Period,
    now: datetime,
    clock: SlaClock,
) -> dict[Any, int]:
    """SLA breaches per group: decided (or still open at `now`) at or after the MQL's due time."""
    query = select(
        key.label("grp"), register.qualified.c.qualified_at, register.decided.c.decided_at
    ).select_from(register.joined())
    late: dict[Any, int] = defaultdict(int)
    for grp, qualified_at, decided_at in (await session.execute(_in_period(query, register, period))).all():
        late[grp] += (aware(decided_at) if decided_at else now) >= clock.due(qualified_at)
    return late


def _shape(
    group: str | None,
    mqls_: int,
    decided: int,
    sqls: int,
    rejected: int,
    recycled: int,
    median: float | None,
    p90: float | None,
    breaches: int,
) -> dict[str, Any]:
    # Field order is the message: SQL rate first, MQL volume last.
    return {
        "sql_rate": round(sqls / decided, 4) if decided else None,
        "group": group,
        "sqls": sqls,
        "decided": decided,
        "rejected": rejected,
        "recycled": recycled,
        "open": mqls_ - decided,
        "mqls": mqls_,
        "median_time_to_decision_s": median,
        "p90_time_to_decision_s": p90,
        "sla_breaches": breaches,
    }


async def _not_sql_reasons(
    session: AsyncSession, register: _Register, key: ColumnElement[Any], period: Period
) -> dict[str | None, list[dict[str, Any]]]:
    _d = register.decided.c
    query = (
        select(key.label("grp"), _d.reason_code, _d.reason_label, func.count().label("n"))
        .select_from(register.joined(outer=False))
        .where(_d.outcome.in_(("rejected", "recycled")))
    )
    query = _in_period(query, register, period)
    query = query.group_by(*([] if key is _NO_GROUP else [key]), _d.reason_code, _d.reason_label)
    out: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for r in (await session.execute(query)).all():
        out[r.grp].append({"code": r.reason_code, "label": r.reason_label, "count": r.n})
    for reasons in out.values():
        reasons.sort(key=lambda x: (-x["count"], x["code"]))
        del reasons[TOP_REASONS:]
    return out
