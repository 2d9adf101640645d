"""Dependencies of the qualifier's routes, as Annotated aliases: who is calling (the API keys of
LEADSTATE_API_KEYS with the handoff's scopes, checked by services/common/callers.py) and a database
session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.callers import ApiKeys, Caller

from .state import qualifier_state

API_KEYS = ApiKeys(realm="qualifier", keys=lambda r: qualifier_state(r).settings.api_keys)

MqlReader = Annotated[Caller, Depends(API_KEYS.require("mql:read"))]
ReportReader = Annotated[Caller, Depends(API_KEYS.require("reports:read"))]


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with qualifier_state(request).database.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]
