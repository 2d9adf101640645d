"""The admin page: the audit trail, the personal accounts, and when each API key was last used."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from services.common.auth import key_id

from ..accounts import list_users
from ..audit import recent
from ..key_usage import last_uses
from ..state import handoff_state
from .pages import ConsoleUser, render, require

router = APIRouter(prefix="/console", include_in_schema=False)
AdminUser = Annotated[ConsoleUser, Depends(require("audit:read"))]


@router.get("/audit")
async def audit_page(request: Request, user: AdminUser) -> Response:
    state = handoff_state(request)
    async with state.database.sessions() as session:
        entries = await recent(session, limit=200)
        people = await list_users(session)
        used = await last_uses(session)
    keys = [
        {"id": kid[:12], "scopes": sorted(scopes), "used": used.get(kid)}
        for kid, scopes in ((key_id(k), s) for k, s in state.settings.api_keys.items())
    ]
    context = {"entries": entries, "people": people, "keys": keys}
    return render(request, "audit.html", context, user=user)
