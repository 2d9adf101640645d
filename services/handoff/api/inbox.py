"""GET /v1/mqls (the inbox of open MQLs) and GET /v1/leads/{lead_id} (everything known of a lead)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.problems import Problem

from ..cursor import CursorCodec, CursorError
from ..decisions import LEADS, Register
from ..inbox import InboxQuery, inbox_page, lead_history
from ..policy import HandoffPolicy
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


@dataclass(frozen=True)
class PageAsked:
    query: InboxQuery
    limit: int
    cursor: str | None


def page_asked(
    order: Annotated[Literal["oldest", "newest"], Query(description="By qualified_at.")] = "oldest",
    rule: Annotated[
        str | None, Query(max_length=200, pattern=PRINTABLE, description="Only those of this rule.")
    ] = None,
    topic: Annotated[
        str | None, Query(max_length=200, pattern=PRINTABLE, description="Only those with this topic.")
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="Qualified at or after.")] = None,
    sla: Annotated[SlaState | None, Query(description="Only those in this SLA state now.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="`next_cursor` of the last page.")
    ] = None,
) -> PageAsked:
    """The inbox query parameters, shared by the MQL and the MQA inbox."""
    return PageAsked(InboxQuery(order=order, rule=rule, topic=topic, since=since, sla=sla), limit, cursor)


PageDep = Annotated[PageAsked, Depends(page_asked)]


async def page_or_problem(
    session: AsyncSession,
    asked: PageAsked,
    policy: HandoffPolicy,
    cursors: CursorCodec,
    now: datetime,
    register: Register = LEADS,
) -> tuple[list[Row], str | None]:
    try:
        return await inbox_page(
            session,
            asked.query,
            policy=policy,
            cursors=cursors,
            cursor=asked.cursor,
            limit=asked.limit,
            now=now,
            register=register,
        )
    except CursorError as exc:
        raise Problem(
            400, f"invalid cursor: {exc}", errors=[{"field": "cursor", "message": str(exc)}]
        ) from None


@router.get(
    "/mqls",
    operation_id="listMqls",
    summary="The inbox: open MQLs with their explanation and SLA",
    responses=LIST_PROBLEMS,
)
async def list_mqls(
    _: MqlReader, session: SessionDep, policy: PolicyDep, cursors: CursorsDep, asked: PageDep
) -> MqlPage:
    now = datetime.now(UTC)
    page, next_cursor = await page_or_problem(session, asked, policy, cursors, now)
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
