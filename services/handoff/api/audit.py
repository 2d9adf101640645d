"""GET /v1/audit: the audit trail, newest first (scope `audit:read`, the admin role's)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from ..audit import ACTIONS, recent
from .deps import Caller, SessionDep, require
from .schemas import AUTH_PROBLEMS, problems

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=problems(AUTH_PROBLEMS))
ACTION_PATTERN = "^(" + "|".join(a.replace(".", r"\.") for a in ACTIONS) + ")$"
AuditReader = Annotated[Caller, Depends(require("audit:read"))]


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str  # a person's email, `key:<key id prefix> (...)` for a machine, or `cli:<os user>`
    action: str
    subject: str | None
    address: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_before: int | None  # pass as `before` for the next (older) page


@router.get(
    "",
    operation_id="listAudit",
    summary="Who did what, when, from where: decisions, simulations, webhook and user changes",
    responses=problems({422: "A bad parameter"}),
)
async def list_audit(
    _: AuditReader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="an audit id: only older entries")
    ] = None,
    action: Annotated[str | None, Query(pattern=ACTION_PATTERN, description="only this action")] = None,
) -> AuditPage:
    items = await recent(session, limit=limit, before=before, action=action)
    return AuditPage(
        items=[AuditEntry(**i) for i in items], next_before=items[-1]["id"] if len(items) == limit else None
    )
