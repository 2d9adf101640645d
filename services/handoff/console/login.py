"""Log in with an API key (checked as the API checks it), log out."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from services.common.auth import find_key

from .pages import LoginRequired, UserDep, check_csrf, current_user, redirect, render
from .session import COOKIE, MAX_AGE_S, ConsoleSession

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
        current_user(request)
        return redirect(safe_next(next))
    except LoginRequired:
        return render(request, "login.html", {"next": safe_next(next), "errors": {}}, user=None)


@router.post("/login")
async def login(
    request: Request,
    key: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = HOME,
) -> Response:
    keys: dict[str, tuple[str, ...]] = request.app.state.settings.api_keys
    name = name.strip()
    errors = {}
    found = find_key(key.strip(), keys) if key.strip() else None
    if found is None:
        errors["key"] = "Unknown API key." if key.strip() else "Enter your API key."
    if not name:
        errors["name"] = "Enter your name: it is recorded with every decision you make."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    if errors or found is None:
        context = {"next": safe_next(next), "errors": errors, "name": name}
        return render(request, "login.html", context, user=None, status=401 if "key" in errors else 422)
    session = ConsoleSession.start(found, name, time.time())
    response = redirect(safe_next(next))
    response.set_cookie(
        COOKIE,
        request.app.state.console.signer.dump(session),
        max_age=MAX_AGE_S,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request, user: UserDep, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf)
    response = redirect("/console/login")
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
    return response
