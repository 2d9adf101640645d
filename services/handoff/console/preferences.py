"""The viewer's language and clock: the header's language switch and the preferences page's time zone,
each remembered in a cookie of this browser (no account needed: the login page has the switch too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from .i18n import LANGUAGE_COOKIE, LANGUAGE_NAMES, LANGUAGES, N_, ZONE_COOKIE, known_zone
from .login import safe_next
from .pages import PageError, UserDep, check_csrf, console_state, redirect, render

router = APIRouter(prefix="/console", include_in_schema=False)
YEAR_S = 365 * 86400
# Offered on the preferences page; any other IANA name can be typed.
ZONES = (
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Europe/London",
    "America/New_York",
    "UTC",
)


def _remember(request: Request, response: Response, name: str, value: str | None) -> None:
    if value is None:
        response.delete_cookie(name, path="/console")
        return
    # Not a secret and not httponly-worthy either way; Lax so a link from a chat message keeps it.
    response.set_cookie(
        name, value, max_age=YEAR_S, path="/console", samesite="lax", secure=request.url.scheme == "https"
    )


@router.get("/language/{language}")
async def switch_language(request: Request, language: str, next: str = "/console/inbox") -> Response:
    if language not in LANGUAGES:
        raise PageError(
            404,
            N_("Unknown language"),
            N_("The console speaks %(languages)s."),
            languages=", ".join(LANGUAGES),
        )
    response = redirect(safe_next(next))
    _remember(request, response, LANGUAGE_COOKIE, language)
    return response


@router.get("/preferences")
async def preferences(request: Request, user: UserDep) -> Response:
    context = {"zones": ZONES, "languages": LANGUAGE_NAMES, "default_zone": console_state(request).timezone}
    return render(request, "preferences.html", context, user=user)


@router.post("/preferences")
async def set_preferences(
    request: Request, user: UserDep, csrf: Annotated[str, Form()] = "", timezone: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(user, csrf)
    chosen = timezone.strip()
    if chosen and known_zone(chosen) is None:
        raise PageError(
            422,
            N_("Unknown time zone"),
            N_("%(zone)s is not a time zone name such as Asia/Tokyo."),
            zone=chosen[:64],
        )
    response = redirect("/console/preferences")
    # the deployment's zone chosen again: no cookie, so a later change of LEADSTATE_TIMEZONE applies
    keep = chosen if chosen and chosen != console_state(request).timezone else None
    _remember(request, response, ZONE_COOKIE, keep)
    return response
