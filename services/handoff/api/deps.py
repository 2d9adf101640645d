"""Dependencies of the routes, as Annotated aliases: who is calling (and with which scope), a database
session, the policy's reason codes and SLA."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import find_key, key_id
from services.common.problems import Problem

from ..audit import Actor
from ..cursor import CursorCodec
from ..policy import HandoffPolicy
from ..state import handoff_state

_bearer = HTTPBearer(auto_error=False, description="An API key from LEADSTATE_API_KEYS")


@dataclass(frozen=True)
class Caller:
    key_id: str  # a hash of the key: safe to store and log
    scopes: frozenset[str]
    address: str | None = None

    @property
    def actor(self) -> Actor:
        """Who acts, for the audit trail."""
        return Actor(name=f"key:{self.key_id[:12]}", address=self.address)


def _caller(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    challenge = {"WWW-Authenticate": 'Bearer realm="handoff"'}
    if credentials is None:
        raise Problem(401, "missing API key: send Authorization: Bearer <key>", headers=challenge)
    keys: dict[str, tuple[str, ...]] = handoff_state(request).settings.api_keys
    key = find_key(credentials.credentials, keys)
    if key is None:
        raise Problem(401, "unknown API key", headers=challenge)
    return Caller(key_id(key), frozenset(keys[key]), request.client.host if request.client else None)


def _reject_unknown_query(request: Request) -> None:
    """A misspelt filter (`?rules=`) would silently widen the answer; name it instead."""
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    known = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        message = f"unknown query parameter; known: {', '.join(sorted(known)) or 'none'}"
        errors = [{"field": f"query.{name}", "message": message} for name in unknown]
        raise Problem(422, f"unknown query parameter {unknown[0]!r}", errors=errors)


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def require(scope: str) -> Callable[..., Awaitable[Caller]]:
    """The caller, if its key has `scope` (401/403 otherwise); then refuses unknown query parameters."""

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Caller:
        caller = _caller(request, credentials)
        await handoff_state(request).key_usage.touch(caller.key_id, caller.address)
        if scope not in caller.scopes:
            raise Problem(403, f"this API key lacks the scope {scope!r}", required_scope=scope)
        _reject_unknown_query(request)
        return caller

    return dependency


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
