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
from ..identity import IdentityProvider
from ..sso import RoleRules
from ..state import handoff_state
from .i18n import N_, Viewer, viewer_of
from .session import COOKIE, ConsoleSession, SessionSigner, csrf_matches
from .words import install_filters, template_words

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
    identity: IdentityProvider | None = None  # single sign-on, when LEADSTATE_OIDC_ISSUER is set
    role_rules: RoleRules | None = None
    default_language: str = "ja"  # LEADSTATE_DEFAULT_LANGUAGE: when neither the viewer nor the browser says
    timezone: str = (
        "Asia/Tokyo"  # LEADSTATE_TIMEZONE: the clock times are shown on unless the viewer picks one
    )


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

    def lacks(self, scope: str) -> tuple[str, dict[str, str]]:
        """The message (and its parameters) saying this user may not use `scope`."""
        if self.person:
            return N_("Your role (%(role)s) lacks the scope '%(scope)s'."), {
                "role": self.person.role,
                "scope": scope,
            }
        return N_("Your API key lacks the scope '%(scope)s'."), {"scope": scope}


class LoginRequired(Exception):
    pass


class PageError(Exception):
    """`title` and `message` are catalog entries (English, marked with N_), shown translated; `params`
    fill the message's `%(name)s` after translation."""

    def __init__(self, status: int, title: str, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.status, self.title, self.message, self.params = status, title, message, params


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
            message, params = user.lacks(scope)
            raise PageError(403, N_("Not allowed"), message, **params)
        return user

    return dependency


UserDep = Annotated[ConsoleUser, Depends(current_user)]
MqlReaderUser = Annotated[ConsoleUser, Depends(require("mql:read"))]
ReportReaderUser = Annotated[ConsoleUser, Depends(require("reports:read"))]


def check_csrf(user: ConsoleUser, token: str) -> None:
    if not csrf_matches(user.session, token):
        raise PageError(
            403, N_("Form expired"), N_("This form is not from your session. Reload the page and retry.")
        )


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: ConsoleUser | None,
    status: int = 200,
) -> HTMLResponse:
    viewer = viewer_for(request)
    base = {
        "user": user,
        "csrf": user.session.csrf if user else "",
        "path": request.url.path,
        "viewer": viewer,
        "lang": viewer.language,
        **template_words(viewer),
    }
    return TEMPLATES.TemplateResponse(
        request, template, {**base, **context}, status_code=status, headers=SECURITY_HEADERS
    )


def sentence(text: object) -> str:
    """A message as a sentence: first letter up unless it starts with an email, the rest as it was."""
    said = str(text)
    if "@" not in said.split(" ", 1)[0]:
        said = f"{said[:1].upper()}{said[1:]}"
    return said if said.endswith(".") else f"{said}."


def public_base(request: Request) -> str:
    """The console's address as people reach it: LEADSTATE_CONSOLE_URL if set, else this request's scheme
    and host (as a trusted proxy forwarded them, services/common/proxy.py)."""
    configured = handoff_state(request).settings.console_url
    if configured:
        return configured.rstrip("/").removesuffix("/console")
    return str(request.base_url).rstrip("/")


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
    viewer = viewer_for(request)
    message = viewer.gettext(exc.message, **{k: viewer.listed(v) for k, v in exc.params.items()})
    context = {"title": viewer.gettext(exc.title), "message": message, "status": exc.status}
    return render(request, "error.html", context, user=user, status=exc.status)


def viewer_for(request: Request) -> Viewer:
    state = console_state(request)
    return viewer_of(
        request.cookies,
        request.headers.get("accept-language"),
        default_language=state.default_language,
        zone=state.timezone,
    )


TEMPLATES.env.policies["ext.i18n.trimmed"] = True  # a {% trans %} block's line breaks are not in the msgid
TEMPLATES.env.globals["sla_labels"] = {
    "ok": N_("On time"),
    "due_soon": N_("Due soon"),
    "breached": N_("Breached"),
}
install_filters(TEMPLATES.env)
