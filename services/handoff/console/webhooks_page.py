"""The webhooks page (scope `webhooks:admin`): the endpoints with their state and recent deliveries;
create one (its secret shown this once), pause or enable, rotate the secret, send a test. One endpoint's
own page (edit, deliveries by status, replay, delete) is webhook_detail.py. The same checks, functions
and audit records as the /v1/webhooks API (URL safety, slack events, endpoints, send_test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from ..audit import Actor, record
from ..state import handoff_state
from ..webhooks import deliveries, endpoints
from ..webhooks.safety import UnsafeUrl, check_url
from ..webhooks.schemas import Delivery, Webhook
from ..webhooks.testing import send_test
from .i18n import N_
from .pages import ConsoleUser, PageError, check_csrf, redirect, render, require, viewer_for
from .refusals import refusal_text

router = APIRouter(prefix="/console", include_in_schema=False)
WebhookAdminUser = Annotated[ConsoleUser, Depends(require("webhooks:admin"))]
RECENT = 10  # deliveries shown per endpoint
MAX_URL, MAX_DESCRIPTION, MAX_GRACE_S = 2000, 500, 7 * 86400  # as the API


async def _page(request: Request, user: ConsoleUser, *, status: int = 200, **notes: Any) -> Response:
    now = datetime.now(UTC)
    async with handoff_state(request).database.sessions() as session:
        rows = await endpoints.list_all(session)
        hooks = [
            {
                "hook": Webhook.of(row, now),
                "deliveries": [
                    Delivery.of(d)
                    for d in await deliveries.list_for(
                        session, row.endpoint_id, status=None, limit=RECENT, before=None
                    )
                ],
            }
            for row in rows
        ]
    context = {
        "hooks": hooks,
        "event_types": list(endpoints.EVENT_TYPES),
        "formats": endpoints.FORMATS,
        "form": notes.pop("form", {}),
        **notes,
    }
    return render(request, "webhooks.html", context, user=user, status=status)


async def _endpoint(request: Request, webhook_id: str) -> Any:
    async with handoff_state(request).database.sessions() as session:
        try:
            return await endpoints.get(session, webhook_id)
        except endpoints.UnknownEndpoint:
            raise unknown_endpoint(webhook_id) from None


def unknown_endpoint(webhook_id: str) -> PageError:
    return PageError(404, N_("Unknown endpoint"), N_("No webhook endpoint %(id)s."), id=repr(webhook_id))


@router.get("/webhooks")
async def webhooks_page(request: Request, user: WebhookAdminUser) -> Response:
    return await _page(request, user)


@router.post("/webhooks")
async def create_endpoint(
    request: Request,
    user: WebhookAdminUser,
    csrf: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    events: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies form defaults)
    format: Annotated[str, Form()] = "standard",
    description: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)
    form = {"url": url, "events": events, "format": format, "description": description}
    url = url.strip()
    problem = invalid_form(request, url, events, format, description) or await url_refusal(request, url)
    if problem is not None:
        return await _page(request, user, status=422, error=problem, form=form)
    now = datetime.now(UTC)
    new = endpoints.NewEndpoint(url, events, format, description.strip() or None, True)
    async with handoff_state(request).database.sessions() as session, session.begin():
        row = await endpoints.create(session, new, created_by=user.session.key_id, now=now)
        detail = {"url": row.url, "events": list(row.events), "format": row.format}
        await record(session, actor(request, user), "webhook.created", row.endpoint_id, detail)
    return await _page(request, user, secret={"id": row.endpoint_id, "value": row.secret})


def actor(request: Request, user: ConsoleUser) -> Actor:
    return Actor(name=user.actor, address=request.client.host if request.client else None)


def invalid_form(request: Request, url: str, events: list[str], format_: str, description: str) -> str | None:
    """The form's first problem, naming the field, in the viewer's language; None when it is fine."""
    say = viewer_for(request).gettext
    if not url or len(url) > MAX_URL:
        return say(N_("url: give the receiver's address (at most %(most)s characters)."), most=MAX_URL)
    unknown = [e for e in events if e not in endpoints.EVENT_TYPES]
    if not events or unknown:
        return say(N_("events: pick one or more of %(names)s."), names=", ".join(endpoints.EVENT_TYPES))
    if format_ not in endpoints.FORMATS:
        return say(N_("format: one of %(names)s."), names=", ".join(endpoints.FORMATS))
    if not endpoints.slack_events_fit(format_, events):
        return say(N_("events: a slack endpoint takes lead.mql only."))
    if len(description) > MAX_DESCRIPTION:
        return say(N_("description: at most %(most)s characters."), most=MAX_DESCRIPTION)
    return None


async def url_refusal(request: Request, url: str) -> str | None:
    """Why the URL may not receive webhooks (the API's check), in the viewer's language; None when it may."""
    try:
        await check_url(url, allow_private=handoff_state(request).settings.webhook_allow_private)
    except UnsafeUrl as exc:
        viewer = viewer_for(request)
        return viewer.gettext(N_("url refused: %(why)s"), why=refusal_text(exc, viewer))
    return None


@router.post("/webhooks/{webhook_id}/enabled")
async def set_enabled(
    request: Request,
    webhook_id: str,
    user: WebhookAdminUser,
    csrf: Annotated[str, Form()] = "",
    enabled: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)
    if enabled not in ("true", "false"):
        raise PageError(422, N_("Enable or pause"), N_("enabled: true or false."))
    async with handoff_state(request).database.sessions() as session, session.begin():
        try:
            await endpoints.change(session, webhook_id, {"enabled": enabled == "true"}, now=datetime.now(UTC))
        except endpoints.UnknownEndpoint:
            raise unknown_endpoint(webhook_id) from None
        await record(session, actor(request, user), "webhook.changed", webhook_id, {"changes": ["enabled"]})
    return redirect(back if back.startswith(f"/console/webhooks/{webhook_id}") else "/console/webhooks")


@router.post("/webhooks/{webhook_id}/secret")
async def rotate(
    request: Request,
    webhook_id: str,
    user: WebhookAdminUser,
    csrf: Annotated[str, Form()] = "",
    grace_seconds: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)
    grace = timedelta(seconds=_grace(request, grace_seconds.strip()))
    async with handoff_state(request).database.sessions() as session, session.begin():
        try:
            row = await endpoints.rotate_secret(session, webhook_id, now=datetime.now(UTC), grace=grace)
        except endpoints.UnknownEndpoint:
            raise unknown_endpoint(webhook_id) from None
        await record(session, actor(request, user), "webhook.changed", webhook_id, {"changes": ["secret"]})
    secret = {"id": row.endpoint_id, "value": row.secret, "previous_until": row.previous_until}
    return await _page(request, user, secret=secret)


def _grace(request: Request, given: str) -> int:
    """The old secret's grace in seconds: the setting when left empty, else 0 to 7 days (as the API)."""
    if not given:
        return int(handoff_state(request).settings.webhook_rotation_grace_s)
    if not given.isdigit() or int(given) > MAX_GRACE_S:
        message = N_("grace_seconds: a whole number from 0 to %(most)s.")
        raise PageError(422, N_("Rotate the secret"), message, most=MAX_GRACE_S)
    return int(given)


@router.post("/webhooks/{webhook_id}/test")
async def test(
    request: Request, webhook_id: str, user: WebhookAdminUser, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(user, csrf)
    row = await _endpoint(request, webhook_id)
    async with handoff_state(request).database.sessions() as session:
        sent_id, attempt = await send_test(
            session, row, handoff_state(request).settings, now=datetime.now(UTC)
        )
    tested = {
        "id": row.endpoint_id,
        "webhook_id": sent_id,
        "delivered": attempt.delivered,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "latency_ms": attempt.latency_ms,
    }
    return await _page(request, user, tested=tested)
