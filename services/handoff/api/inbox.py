"""GET /v1/mqls (the inbox of open MQLs) and GET /v1/leads/{lead_id} (everything known of a lead)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.common.problems import Problem

from ..cursor import CursorError, Position
from ..inbox import InboxFilter, lead_history, open_mqls
from ..sla import SlaState, qualified_window
from .deps import CursorsDep, MqlReader, PolicyDep, SessionDep
from .present import lead_mql, mql_item
from .schemas import AUTH_PROBLEMS, Lead, LeadId, MqlPage, problems

router = APIRouter(prefix="/v1", tags=["inbox"], responses=problems(AUTH_PROBLEMS))
LIST_PROBLEMS = problems({400: "A cursor this API did not issue for these filters", 422: "A bad parameter"})
LEAD_PROBLEMS = problems(
    {
        404: "The handoff never received an MQL for this lead",
        422: "Not a valid lead id (too long, control characters)",
    }
)


@router.get(
    "/mqls",
    operation_id="listMqls",
    summary="The inbox: open MQLs with their explanation and SLA",
    responses=LIST_PROBLEMS,
)
async def list_mqls(
    _: MqlReader,
    session: SessionDep,
    policy: PolicyDep,
    cursors: CursorsDep,
    order: Annotated[Literal["oldest", "newest"], Query(description="By qualified_at.")] = "oldest",
    rule: Annotated[str | None, Query(max_length=200, description="Only MQLs of this rule.")] = None,
    topic: Annotated[str | None, Query(max_length=200, description="Only MQLs with this interest.")] = None,
    since: Annotated[AwareDatetime | None, Query(description="Qualified at or after.")] = None,
    sla: Annotated[SlaState | None, Query(description="Only MQLs in this SLA state now.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="`next_cursor` of the last page.")
    ] = None,
) -> MqlPage:
    now = datetime.now(UTC)
    # The cursor is bound to the order and filters it was issued for.
    scope = f"{order}|{rule}|{topic}|{since.isoformat() if since else ''}|{sla}"
    after = None
    if cursor is not None:
        try:
            after = cursors.decode(cursor, scope)
        except CursorError as exc:
            raise Problem(
                400, f"invalid cursor: {exc}", errors=[{"field": "cursor", "message": str(exc)}]
            ) from None
    after_q, until_q = (None, None)
    if sla is not None:
        after_q, until_q = qualified_window(
            sla, now=now, decision_hours=policy.decision_hours, due_soon_hours=policy.due_soon_hours
        )
    where = InboxFilter(rule=rule, topic=topic, since=since, qualified_after=after_q, qualified_until=until_q)
    rows = await open_mqls(session, where=where, order=order, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = cursors.encode(Position(page[-1].qualified_at, page[-1].mql_id), scope) if more else None
    return MqlPage(items=[mql_item(r, policy, now) for r in page], next_cursor=next_cursor)


@router.get(
    "/leads/{lead_id}",
    operation_id="getLead",
    summary="A lead: its current and past MQLs and their decisions",
    responses=LEAD_PROBLEMS,
)
async def get_lead(lead_id: LeadId, _: MqlReader, session: SessionDep, policy: PolicyDep) -> Lead:
    history = await lead_history(session, lead_id)
    if not history:
        raise Problem(404, f"no MQL was received for lead {lead_id!r}")
    now = datetime.now(UTC)
    latest, latest_decision = history[0]
    open_mql = next((m for m, d in history if d is None), None)
    return Lead(
        lead_id=lead_id,
        stage="mql" if latest_decision is None else latest_decision.outcome,
        open_mql_id=open_mql.mql_id if open_mql is not None else None,
        identities=latest.data["identities"],
        attributes=latest.data["attributes"],
        mqls=[lead_mql(m, d, policy, now) for m, d in history],
    )
