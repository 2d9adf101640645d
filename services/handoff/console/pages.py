"""What every console page shares: its state on the app, the signed-in user and their scopes, rendering
with the security headers, and errors as HTML pages (a person reads these, not a program)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from services.common.policy import Policy

from ..accounts import SessionLimits, Throttle, User, resume_session
from ..state import handoff_state
from .session import COOKIE, ConsoleSession, SessionSigner, csrf_matches

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
SECURITY_HEADERS = {
    # Everything is served from here: no CDN, no inline script; inline SVG needs no exception.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, kw_only=True)
class ConsoleState:
    signer: SessionSigner
    scopes_by_key_id: dict[str, frozenset[str]]
    policy: Policy  # the whole MQL policy: its rules in words
    limits: SessionLimits
    throttle: Throttle


@dataclass(frozen=True)
class ConsoleUser:
    session: ConsoleSession
    scopes: frozenset[str]
    person: User | None = None  # signed in as a person (not with an API key): their account

    @property
    def actor(self) -> str:
        return self.person.email if self.person else f"key:{self.session.key_id[:12]} ({self.session.name})"

    def can(self, scope: str) -> bool:
        return scope in self.scopes

    def lacks(self) -> str:
        return f"Your role ({self.person.role}) lacks" if self.person else "Your API key lacks"


class LoginRequired(Exception):
    pass


class PageError(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def console_state(request: Request) -> ConsoleState:
    return request.app.state.console


async def current_user(request: Request) -> ConsoleUser:
    state = console_state(request)
    cookie = request.cookies.get(COOKIE)
    session = state.signer.load(cookie, time.time()) if cookie else None
    if session is not None and session.sid is not None:
        # A person: looked up on every request, so a disabled account or a revoked session ends now.
        async with handoff_state(request).database.sessions() as db, db.begin():
            person = await resume_session(db, session.sid, limits=state.limits, now=datetime.now(UTC))
        if person is None:
            raise LoginRequired()
        return ConsoleUser(session, person.scopes, person)
    scopes = state.scopes_by_key_id.get(session.key_id) if session is not None else None
    if session is None or scopes is None:
        raise LoginRequired()
    return ConsoleUser(session, scopes)


def require(scope: str) -> Callable[..., ConsoleUser]:
    def dependency(user: Annotated[ConsoleUser, Depends(current_user)]) -> ConsoleUser:
        if not user.can(scope):
            raise PageError(403, "Not allowed", f"{user.lacks()} the scope {scope!r} this page needs.")
        return user

    return dependency


UserDep = Annotated[ConsoleUser, Depends(current_user)]
MqlReaderUser = Annotated[ConsoleUser, Depends(require("mql:read"))]
ReportReaderUser = Annotated[ConsoleUser, Depends(require("reports:read"))]


def check_csrf(user: ConsoleUser, token: str) -> None:
    if not csrf_matches(user.session, token):
        raise PageError(403, "Form expired", "This form is not from your session. Reload the page and retry.")


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: ConsoleUser | None,
    status: int = 200,
) -> HTMLResponse:
    base = {"user": user, "csrf": user.session.csrf if user else "", "path": request.url.path}
    return TEMPLATES.TemplateResponse(
        request, template, {**base, **context}, status_code=status, headers=SECURITY_HEADERS
    )


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def login_redirect(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/console/inbox"
    return redirect(f"/console/login?next={quote(target, safe='')}")


async def error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    try:
        user: ConsoleUser | None = await current_user(request)
    except Exception:  # not signed in, or the database away: the page says what went wrong either way
        user = None
    context = {"title": exc.title, "message": exc.message, "status": exc.status}
    return render(request, "error.html", context, user=user, status=exc.status)


def age_text(seconds: float) -> str:
    if not 0 <= seconds < 1e15:  # NaN, negative or absurd: a stored value, shown as unknown
        return "–"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} days {hours % 24} h"


def when(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (ValueError, TypeError, OverflowError, AttributeError):
        return str(value)[:40]  # a stored value it cannot read as a time: shown as it is


TEMPLATES.env.filters["age"] = age_text
TEMPLATES.env.filters["when"] = when
TEMPLATES.env.filters["human"] = lambda text: str(text).replace("_", " ").capitalize()
TEMPLATES.env.globals["sla_labels"] = {"ok": "On time", "due_soon": "Due soon", "breached": "Breached"}
