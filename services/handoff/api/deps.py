"""Dependencies of the routes, as Annotated aliases: who is calling (and with which scope: the one key check
of services/common/callers.py, each use noted in handoff.key_usage), a database session, the policy's
reason codes and SLA."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.callers import ApiKeys, Caller

from ..cursor import CursorCodec
from ..policy import HandoffPolicy
from ..state import handoff_state

__all__ = ["Caller", "require"]  # the routes import both from here


async def _note_use(request: Request, caller: Caller) -> None:
    await handoff_state(request).key_usage.touch(caller.key_id, caller.address)


API_KEYS = ApiKeys(realm="handoff", keys=lambda r: handoff_state(r).settings.api_keys, on_call=_note_use)
require = API_KEYS.require


MqlReader = Annotated[Caller, Depends(require("mql:read"))]
DecisionWriter = Annotated[Caller, Depends(require("decisions:write"))]
ReportReader = Annotated[Caller, Depends(require("reports:read"))]


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with handoff_state(request).database.sessions() as session:
        yield session


def _policy(request: Request) -> HandoffPolicy:
    return handoff_state(request).policy


def _cursors(request: Request) -> CursorCodec:
    return handoff_state(request).cursors


SessionDep = Annotated[AsyncSession, Depends(_session)]
PolicyDep = Annotated[HandoffPolicy, Depends(_policy)]
CursorsDep = Annotated[CursorCodec, Depends(_cursors)]
