"""Log in with an API key (checked as the API checks it), log out."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from services.common.auth import find_key

from ..accounts import close_session
from ..state import handoff_state
from .i18n import N_
from .pages import LoginRequired, UserDep, check_csrf, current_user, redirect, render
from .session import COOKIE, LOGIN_COOKIE, LOGIN_MAX_AGE_S, MAX_AGE_S, ConsoleSession

router = APIRouter(prefix="/console", include_in_schema=False)
HOME = "/console/inbox"


def safe_next(target: str) -> str:
    """Only back into the console: a login link must not send anyone elsewhere."""
    if target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


@router.get("")
@router.get("/")
async def home() -> Response:
    return redirect(HOME)


@router.get("/login")
async def login_form(request: Request, next: str = HOME) -> Response:
    try:
        await current_user(request)
        return redirect(safe_next(next))
    except LoginRequired:
        return _login_page(request, {"next": safe_next(next), "errors": {}})


def _login_page(
    request: Request, context: Mapping[str, object], status: int = 200, template: str = "login.html"
) -> Response:
    """A form before there is a session (login, set a password) with a fresh login CSRF token, in the
    page and in its signed cookie."""
    token, now = secrets.token_urlsafe(24), time.time()
    sso = request.app.state.console.identity is not None
    response = render(request, template, {**context, "csrf": token, "sso": sso}, user=None, status=status)
    signed = request.app.state.console.signer.dump_login_token(token, now)
    _set_cookie(request, response, LOGIN_COOKIE, signed, LOGIN_MAX_AGE_S)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """The console's cookies: only for /console, never readable by scripts, never sent cross-site."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _login_csrf_matches(request: Request, presented: str) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    expected = request.app.state.console.signer.load_login_token(cookie, time.time()) if cookie else None
    return expected is not None and hmac.compare_digest(expected.encode(), presented.encode())


@router.post("/login")
async def login(
    request: Request,
    key: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    keys: dict[str, tuple[str, ...]] = handoff_state(request).settings.api_keys
    name = name.strip()
    if not _login_csrf_matches(request, csrf):
        errors = {"form": N_("This login form expired or is not from this site. Log in again.")}
        return _login_page(request, {"next": safe_next(next), "errors": errors, "name": name}, status=403)
    errors = {}
    found = find_key(key.strip(), keys) if key.strip() else None
    if found is None:
        errors["key"] = N_("Unknown API key.") if key.strip() else N_("Enter your API key.")
    if not name:
        errors["name"] = N_("Enter your name: it is recorded with every decision you make.")
    elif len(name) > 200:
        errors["name"] = N_("At most 200 characters.")
    if errors or found is None:
        context = {"next": safe_next(next), "errors": errors, "name": name}
        return _login_page(request, context, status=401 if "key" in errors else 422)
    session = ConsoleSession.start(found, name, time.time())
    response = redirect(safe_next(next))
    response.delete_cookie(LOGIN_COOKIE, path="/console", httponly=True, samesite="strict")
    _set_cookie(request, response, COOKIE, request.app.state.console.signer.dump(session), MAX_AGE_S)
    return response


@router.post("/logout")
async def logout(request: Request, user: UserDep, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf)
    if user.session.sid is not None:
        async with handoff_state(request).database.sessions() as db, db.begin():
            await close_session(db, user.session.sid, now=datetime.now(UTC))
    response = redirect("/console/login")
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
    return response
