"""Who calls an HTTP API, with which scopes: the API keys of LEADSTATE_API_KEYS, checked the same way by
every service that serves them (the handoff's sales API, the qualifier's lead and lab API).

A service builds one `ApiKeys` with where its keys come from (and, if it keeps one, a note of each key's
use) and declares each route's scope with `require`: no key or an unknown one is 401 with a Bearer
challenge, a key without the scope 403 naming it, a misspelt query parameter 422 naming it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .auth import find_key, key_id
from .problems import Problem

_bearer = HTTPBearer(auto_error=False, description="An API key from LEADSTATE_API_KEYS")


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who acts: a person's email, `key:<first 12 hex of the key's sha256>` for a machine, or `cli`."""

    name: str
    address: str | None = None


@dataclass(frozen=True)
class Caller:
    key_id: str  # a hash of the key: safe to store and log
    scopes: frozenset[str]
    address: str | None = None

    @property
    def actor(self) -> Actor:
        """Who acts, for an audit trail."""
        return Actor(name=f"key:{self.key_id[:12]}", address=self.address)


KeysOf = Callable[[Request], Mapping[str, tuple[str, ...]]]
OnCall = Callable[[Request, Caller], Awaitable[None]]


class ApiKeys:
    def __init__(self, *, realm: str, keys: KeysOf, on_call: OnCall | None = None) -> None:
        self._challenge = {"WWW-Authenticate": f'Bearer realm="{realm}"'}
        self._keys = keys
        self._on_call = on_call

    def caller(self, request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
        if credentials is None:
            raise Problem(401, "missing API key: send Authorization: Bearer <key>", headers=self._challenge)
        keys = self._keys(request)
        key = find_key(credentials.credentials, keys)
        if key is None:
            raise Problem(401, "unknown API key", headers=self._challenge)
        return Caller(key_id(key), frozenset(keys[key]), request.client.host if request.client else None)

    def require(self, scope: str) -> Callable[..., Awaitable[Caller]]:
        """The caller, if its key has `scope` (401/403 otherwise); then refuses unknown query parameters."""

        async def dependency(
            request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
        ) -> Caller:
            caller = self.caller(request, credentials)
            if self._on_call is not None:
                await self._on_call(request, caller)
            if scope not in caller.scopes:
                raise Problem(403, f"this API key lacks the scope {scope!r}", required_scope=scope)
            reject_unknown_query(request)
            return caller

        return dependency


def reject_unknown_query(request: Request) -> None:
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
