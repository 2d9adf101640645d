"""People, managed by admins in the console as with `leadstate users add|list|disable|enable|role`: the
list, a new account (its one-time set-password link shown once, to pass on), disabling one (their
sessions end at once), enabling one again, changing a role (open sessions get it at once). An admin
cannot disable or change their own account. Each change is audited under the admin who made it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ..accounts import (
    ROLES,
    AccountError,
    User,
    add_user,
    change_role,
    disable_user,
    enable_user,
    list_users,
)
from ..audit import Actor, record
from ..state import handoff_state
from .i18n import N_, Viewer
from .pages import (
    ConsoleUser,
    PageError,
    check_csrf,
    current_user,
    public_base,
    render,
    viewer_for,
)
from .people import client_address
from .refusals import refusal_text

router = APIRouter(prefix="/console/users", include_in_schema=False)


def _admin(user: Annotated[ConsoleUser, Depends(current_user)]) -> ConsoleUser:
    """The admin role (every scope): an admin's API key may too, as it may every API call."""
    if not ROLES["admin"] <= user.scopes:
        message, params = user.lacks(min(ROLES["admin"] - user.scopes))  # the admin role: every scope
        raise PageError(403, N_("Not allowed"), message, **params)
    return user


AdminUser = Annotated[ConsoleUser, Depends(_admin)]


async def _page(request: Request, user: ConsoleUser, status: int = 200, **context: Any) -> Response:
    async with handoff_state(request).database.sessions() as session:
        people = await list_users(session)
    base = {"people": people, "roles": list(ROLES), "form": {}, "error": None, "link": None, "done": None}
    return render(request, "users.html", {**base, **context}, user=user, status=status)


@router.get("")
async def users_page(request: Request, user: AdminUser) -> Response:
    return await _page(request, user)


@router.post("")
async def add(
    request: Request,
    user: AdminUser,
    email: Annotated[str, Form(max_length=254)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)
    state = handoff_state(request)
    actor = Actor(name=user.actor, address=client_address(request))
    valid = timedelta(seconds=state.settings.set_password_link_s)
    try:
        async with state.database.sessions() as db, db.begin():
            person, token = await add_user(
                db, email, role, by=actor.name, now=datetime.now(UTC), link_valid=valid
            )
            await record(db, actor, "user.added", person.email, {"role": person.role, "via": "console"})
    except AccountError as exc:
        form = {"email": email, "role": role}
        return await _page(request, user, 422, error=refusal_text(exc, viewer_for(request)), form=form)
    link = {
        "email": person.email,
        "url": f"{public_base(request)}/console/set-password?token={token}",
        "hours": valid / timedelta(hours=1),
    }
    return await _page(request, user, link=link)


Change = Callable[[AsyncSession], Awaitable[tuple[User, dict[str, Any]]]]  # the person, the audit detail


async def _change(
    request: Request, user: ConsoleUser, action: str, change: Change, done: Callable[[Viewer, User], str]
) -> Response:
    """One change to a person: made and audited (`action`, with "via": "console") in one transaction; the
    page again, saying what was done, or the refusal (422) in the viewer's language."""
    actor = Actor(name=user.actor, address=client_address(request))
    viewer = viewer_for(request)
    try:
        async with handoff_state(request).database.sessions() as db, db.begin():
            person, detail = await change(db)
            await record(db, actor, action, person.email, {**detail, "via": "console"})
    except AccountError as exc:
        return await _page(request, user, 422, error=refusal_text(exc, viewer))
    return await _page(request, user, done=done(viewer, person))


async def _refuse_own(request: Request, user: ConsoleUser, words: str) -> Response:
    return await _page(request, user, 422, error=viewer_for(request).gettext(words))


@router.post("/disable")
async def disable(
    request: Request,
    user: AdminUser,
    email: Annotated[str, Form(max_length=254)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)
    if _own(user, email):
        return await _refuse_own(request, user, N_("You cannot disable your own account: ask another admin."))

    async def change(db: AsyncSession) -> tuple[User, dict[str, Any]]:
        return await disable_user(db, email, now=datetime.now(UTC)), {}

    done = N_("%(email)s is disabled; their console sessions have ended.")
    return await _change(request, user, "user.disabled", change, lambda v, p: v.gettext(done, email=p.email))


@router.post("/enable")
async def enable(
    request: Request,
    user: AdminUser,
    email: Annotated[str, Form(max_length=254)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)

    async def change(db: AsyncSession) -> tuple[User, dict[str, Any]]:
        return await enable_user(db, email), {}

    done = N_("%(email)s is active again.")
    return await _change(request, user, "user.enabled", change, lambda v, p: v.gettext(done, email=p.email))


@router.post("/role")
async def role(
    request: Request,
    user: AdminUser,
    email: Annotated[str, Form(max_length=254)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)
    if _own(user, email):
        return await _refuse_own(request, user, N_("You cannot change your own role: ask another admin."))

    async def change(db: AsyncSession) -> tuple[User, dict[str, Any]]:
        person, was = await change_role(db, email, role)
        return person, {"role": person.role, "was": was}

    done = N_("%(email)s is now %(role)s; their open sessions have the new role.")

    def said(viewer: Viewer, person: User) -> str:
        return viewer.gettext(done, email=person.email, role=viewer.gettext(person.role))

    return await _change(request, user, "user.role_changed", change, said)


def _own(user: ConsoleUser, email: str) -> bool:
    return user.person is not None and user.person.email == email.strip().lower()
