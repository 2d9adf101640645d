"""GET /v1/mqls (the inbox of open MQLs) and GET /v1/leads/{lead_id} (everything known of a lead)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.common.problems import Problem

from ..cursor import CursorError
from ..inbox import InboxQuery, inbox_page, lead_history
from ..sla import SlaState
from .deps import CursorsDep, MqlReader, PolicyDep, SessionDep
from .present import inbox_items, lead_view
from .schemas import AUTH_PROBLEMS, Lead, LeadId, MqlPage, problems

# PostgreSQL text cannot hold NUL; control characters are never part of a rule or topic name.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

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
    rule: Annotated[
        str | None, Query(max_length=200, pattern=PRINTABLE, description="Only MQLs of this rule.")
    ] = None,
    topic: Annotated[
        str | None, Query(max_length=200, pattern=PRINTABLE, description="Only MQLs with this interest.")
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="Qualified at or after.")] = None,
    sla: Annotated[SlaState | None, Query(description="Only MQLs in this SLA state now.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="`next_cursor` of the last page.")
    ] = None,
) -> MqlPage:
    now = datetime.now(UTC)
    query = InboxQuery(order=order, rule=rule, topic=topic, since=since, sla=sla)
    try:
        page, next_cursor = await inbox_page(
            session, query, policy=policy, cursors=cursors, cursor=cursor, limit=limit, now=now
        )
    except CursorError as exc:
        raise Problem(
            400, f"invalid cursor: {exc}", errors=[{"field": "cursor", "message": str(exc)}]
        ) from None
    return MqlPage(items=inbox_items(page, policy, now), next_cursor=next_cursor)


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
    return lead_view(lead_id, history, policy, datetime.now(UTC))
