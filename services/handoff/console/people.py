"""People in the console: sign in with an email and password (personal accounts, accounts.py), set a
password through a one-time link, log out everywhere. The session names the person; `decided_by` is
their email, never typed."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from ..accounts import (
    AccountError,
    LockedOut,
    User,
    authenticate,
    link_email,
    open_session,
    revoke_sessions,
    set_password,
)
from ..audit import Actor, record
from ..state import handoff_state
from .i18n import N_
from .login import LOGIN_COOKIE, _login_csrf_matches, _login_page, _set_cookie, safe_next
from .pages import PageError, UserDep, check_csrf, console_state, redirect, viewer_for
from .refusals import refusal_text
from .session import COOKIE, MAX_AGE_S, ConsoleSession

router = APIRouter(prefix="/console", include_in_schema=False)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def sign_in(request: Request, person: User, next_url: str, *, how: str) -> Response:
    """A new server-side session for `person`, its id in the signed cookie; audited."""
    response = redirect(safe_next(next_url))
    await start_session(request, response, person, how=how)
    return response


async def start_session(request: Request, response: Response, person: User, *, how: str) -> None:
    address, now = client_address(request), datetime.now(UTC)
    async with handoff_state(request).database.sessions() as db, db.begin():
        sid = await open_session(db, person, address=address, now=now)
        await record(db, Actor(name=person.email, address=address), "user.login", person.email, {"how": how})
    session = ConsoleSession.for_person(person.user_id, person.email, sid, time.time())
    response.delete_cookie(LOGIN_COOKIE, path="/console", httponly=True, samesite="strict")
    _set_cookie(request, response, COOKIE, console_state(request).signer.dump(session), MAX_AGE_S)


@router.post("/login/password")
async def password_login(
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    base = {"next": safe_next(next), "email": email[:254]}
    if not _login_csrf_matches(request, csrf):
        errors = {"form": N_("This login form expired or is not from this site. Log in again.")}
        return _login_page(request, {**base, "errors": errors}, status=403)
    if not email.strip() or not password:
        errors = {"password": N_("Enter your email and your password.")}
        return _login_page(request, {**base, "errors": errors}, status=422)
    state = console_state(request)
    try:
        async with handoff_state(request).database.sessions() as db, db.begin():
            person = await authenticate(
                db,
                email,
                password,
                address=client_address(request),
                throttle=state.throttle,
                now=datetime.now(UTC),
            )
    except LockedOut as exc:
        errors = {"password": refusal_text(exc, viewer_for(request))}
        return _login_page(request, {**base, "errors": errors, "locked": True}, status=429)
    if person is None:
        errors = {"password": N_("Wrong email or password.")}
        return _login_page(request, {**base, "errors": errors}, status=401)
    return await sign_in(request, person, next, how="password")


@router.get("/set-password")
async def set_password_form(request: Request, token: str = "") -> Response:
    async with handoff_state(request).database.sessions() as db:
        email = await link_email(db, token, now=datetime.now(UTC))
    if email is None:
        raise PageError(
            404,
            N_("Link not valid"),
            N_("This link is not valid: it was used already or expired; ask an admin for a new one."),
        )
    return _set_password_page(request, token, email, {})


def _set_password_page(request: Request, token: str, email: str, errors: dict[str, str]) -> Response:
    context = {"token": token, "email": email, "errors": errors}
    return _login_page(request, context, status=422 if errors else 200, template="set_password.html")


@router.post("/set-password")
async def set_password_submit(
    request: Request,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    repeat: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    # The CSRF token too: else a page elsewhere could sign a browser in to the forger's own account.
    if not _login_csrf_matches(request, csrf):
        return _set_password_page(
            request, token, "", {"password": N_("This form expired. Open the link again.")}
        )
    if password != repeat:
        return _set_password_page(request, token, "", {"password": N_("The two passwords differ.")})
    address = client_address(request)
    try:
        async with handoff_state(request).database.sessions() as db, db.begin():
            person = await set_password(db, token, password, now=datetime.now(UTC))
            await record(db, Actor(name=person.email, address=address), "user.password_set", person.email, {})
    except AccountError as exc:
        return _set_password_page(request, token, "", {"password": refusal_text(exc, viewer_for(request))})
    return await sign_in(request, person, "/console/inbox", how="set-password link")


@router.post("/logout-everywhere")
async def logout_everywhere(request: Request, user: UserDep, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf)
    if user.person is None:
        raise PageError(
            400, N_("Not a personal session"), N_("An API key's sessions end when the key is removed.")
        )
    address = client_address(request)
    async with handoff_state(request).database.sessions() as db, db.begin():
        ended = await revoke_sessions(db, user.person.user_id, now=datetime.now(UTC))
        actor = Actor(name=user.person.email, address=address)
        await record(db, actor, "user.logout_everywhere", user.person.email, {"sessions": ended})
    response = redirect("/console/login")
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
    return response
