"""Single sign-on for the console: "Sign in with your company account" leaves for the identity provider
(identity.py) and comes back to /console/login/oidc/callback, where the answer is checked against the
flow this browser started, the person's domain and role (sso.py), and a session opened as for a local
account. Any refusal is a page saying why, with nobody signed in; the flow cookie is spent either way."""

from __future__ import annotations

import hmac
import logging
import time
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ..audit import Actor, record
from ..identity import IdentityProvider, ProviderUnavailable, SignInRefused
from ..sso import RoleRules, SignOnRefused, signed_on
from ..state import handoff_state
from .i18n import N_
from .login import HOME, safe_next
from .pages import SECURITY_HEADERS, PageError, console_state, public_base, render, viewer_for
from .people import client_address, start_session
from .refusals import refusal_text
from .session import FLOW_COOKIE, FLOW_MAX_AGE_S

router = APIRouter(prefix="/console/login/oidc", include_in_schema=False)
log = logging.getLogger(__name__)
FLOW_PATH = "/console/login/oidc"
MAX_PARAM = 4096  # code and state from the provider: a few hundred characters in practice
MAX_NEXT = 2000


def _provider(request: Request) -> tuple[IdentityProvider, RoleRules]:
    state = console_state(request)
    if state.identity is None or state.role_rules is None:
        raise PageError(
            404,
            N_("Single sign-on is not set up"),
            N_("Sign in with your account or an API key on the login page."),
        )
    return state.identity, state.role_rules


def redirect_uri(request: Request) -> str:
    """The address registered with the provider as the redirect URI."""
    return f"{public_base(request)}/console/login/oidc/callback"


@router.get("")
async def start(request: Request, next: str = HOME) -> Response:
    provider, _ = _provider(request)
    try:
        target = safe_next(next) if len(next) <= MAX_NEXT else HOME  # it rides in a cookie
        url, flow = await provider.start(redirect_uri(request), target)
    except ProviderUnavailable as exc:
        log.warning("single sign-on: %s", exc)
        raise PageError(
            502,
            N_("The identity provider is unavailable"),
            N_("Try again in a moment (%(why)s)."),
            why=str(exc),
        ) from None
    response = RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        FLOW_COOKIE,
        console_state(request).signer.dump_flow(flow, time.time()),
        max_age=FLOW_MAX_AGE_S,
        path=FLOW_PATH,
        httponly=True,
        samesite="lax",  # sent back on the provider's top-level redirect to the callback
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/callback")
async def callback(
    request: Request, code: str = "", state: str = "", error: str = "", error_description: str = ""
) -> Response:
    provider, rules = _provider(request)
    raw = request.cookies.get(FLOW_COOKIE)
    flow = console_state(request).signer.load_flow(raw, time.time()) if raw else None
    if error:
        detail = f"{error[:100]}: {error_description[:300]}" if error_description else error[:100]
        return _refused(request, 403, N_("The identity provider did not sign you in (%(why)s)."), why=detail)
    if flow is None:
        return _refused(request, 400, N_("This sign-in expired or was not started in this browser."))
    if not state or len(state) > MAX_PARAM or not hmac.compare_digest(state.encode(), flow.state.encode()):
        return _refused(
            request, 400, N_("The answer does not belong to the sign-in this browser started (state).")
        )
    if not code or len(code) > MAX_PARAM:
        return _refused(request, 400, N_("The identity provider sent no sign-in code."))
    try:
        claims = await provider.claims(code, redirect_uri(request), flow)
    except SignInRefused as exc:
        log.warning("single sign-on refused: %s", exc)
        return _refused(request, 400, "%(why)s", why=refusal_text(exc, viewer_for(request)))
    except ProviderUnavailable as exc:
        log.warning("single sign-on: %s", exc)
        message = N_("The identity provider is unavailable; try again in a moment (%(why)s).")
        return _refused(request, 502, message, why=str(exc))
    address, now = client_address(request), datetime.now(UTC)
    async with handoff_state(request).database.sessions() as db, db.begin():
        try:  # refused before it writes anything
            person, change = await signed_on(db, claims, rules, now=now)
        except SignOnRefused as exc:
            who = claims.get("email") if isinstance(claims.get("email"), str) else None
            actor = Actor(name=f"oidc:{str(who or claims.get('sub'))[:254]}", address=address)
            await record(db, actor, "user.login_refused", who and who[:254], {"why": str(exc)[:500]})
            refusal: SignOnRefused | None = exc
        else:
            refusal = None
            actor = Actor(name="oidc", address=address)
            if change == "added":
                await record(db, actor, "user.added", person.email, {"role": person.role, "via": "oidc"})
            elif change == "role":
                await record(
                    db, actor, "user.role_changed", person.email, {"role": person.role, "via": "oidc"}
                )
    if refusal is not None:
        return _refused(request, 403, "%(why)s", why=refusal_text(refusal, viewer_for(request)))
    # The session cookie is SameSite=Strict, and this answer ends a navigation that began on the
    # provider's site: a redirect would carry that cross-site origin, and the next page would arrive
    # without the cookie. A page of ours that moves on by itself makes the next request same-site.
    target = quote(safe_next(flow.next), safe="/?=&-._~%")
    response = render(request, "signed_in.html", {"target": target, "email": person.email}, user=None)
    await start_session(request, response, person, how="oidc")
    _spend_flow(response)
    return response


def _refused(request: Request, status: int, message: str, **params: str) -> Response:
    """A page saying why nobody is signed in: `message` a catalog entry, `params` its values (said as
    they are: the provider's and the account rules' own words)."""
    viewer = viewer_for(request)
    said = viewer.gettext(message, **params)
    context = {"title": viewer.gettext(N_("Sign-in refused")), "message": said, "status": status}
    response = render(request, "sign_in_refused.html", context, user=None, status=status)
    _spend_flow(response)
    return response


def _spend_flow(response: Response) -> None:
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax")
