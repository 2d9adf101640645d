"""One webhook endpoint's page (scope `webhooks:admin`): everything `/v1/webhooks/{id}` offers that the
list does not: change the URL, events or description; its deliveries, filtered by status and paged;
send the finished ones again from a time or an event on (replay); remove it. Each change is checked as
the API checks it and recorded in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from ..audit import record
from ..state import handoff_state
from ..webhooks import deliveries, endpoints
from ..webhooks.schemas import Delivery, Webhook
from .i18n import N_
from .pages import ConsoleUser, PageError, check_csrf, redirect, render, viewer_for
from .webhooks_page import WebhookAdminUser, actor, invalid_form, unknown_endpoint, url_refusal

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 50  # deliveries per page
STATUSES = ("pending", "delivered", "failed")


async def _page(
    request: Request,
    user: ConsoleUser,
    webhook_id: str,
    *,
    status: str | None = None,
    before: int | None = None,
    code: int = 200,
    **notes: Any,
) -> Response:
    now = datetime.now(UTC)
    async with handoff_state(request).database.sessions() as session:
        try:
            row = await endpoints.get(session, webhook_id)
        except endpoints.UnknownEndpoint:
            raise unknown_endpoint(webhook_id) from None
        rows = await deliveries.list_for(session, webhook_id, status=status, limit=PAGE, before=before)
    hook = Webhook.of(row, now)
    context = {
        "hook": hook,
        "deliveries": [Delivery.of(r) for r in rows],
        "next_before": rows[-1].seq if len(rows) == PAGE else None,
        "status": status,
        "statuses": STATUSES,
        "event_types": list(endpoints.EVENT_TYPES),
        "form": notes.pop("form", None)
        or {"url": hook.url, "events": hook.events, "description": hook.description},
        **notes,
    }
    return render(request, "webhook.html", context, user=user, status=code)


def _said(request: Request, message: str, **params: str) -> str:
    """A form's problem in the viewer's language (`message` a catalog entry)."""
    return viewer_for(request).gettext(message, **params)


@router.get("/webhooks/{webhook_id}")
async def endpoint_page(
    request: Request,
    webhook_id: str,
    user: WebhookAdminUser,
    status: Annotated[str, Query(max_length=20)] = "",
    before: Annotated[str, Query(max_length=20)] = "",
    saved: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    if status and status not in STATUSES:
        raise PageError(422, N_("Deliveries"), N_("status: one of %(states)s."), states=", ".join(STATUSES))
    if before and (not before.isdigit() or int(before) > 2**62):
        raise PageError(
            422, N_("Deliveries"), N_("before: a delivery number from this page's 'Older deliveries' link.")
        )
    return await _page(
        request,
        user,
        webhook_id,
        status=status or None,
        before=int(before) if before else None,
        saved=saved == "changed",
    )


@router.post("/webhooks/{webhook_id}")
async def change_endpoint(
    request: Request,
    webhook_id: str,
    user: WebhookAdminUser,
    csrf: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    events: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies form defaults)
    description: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)
    form = {"url": url, "events": events, "description": description}
    async with handoff_state(request).database.sessions() as session:
        try:
            current = await endpoints.get(session, webhook_id)
        except endpoints.UnknownEndpoint:
            raise unknown_endpoint(webhook_id) from None
    url = url.strip()
    problem = invalid_form(request, url, events, current.format, description)
    if problem is None and url != current.url:
        problem = await url_refusal(request, url)
    if problem is not None:
        return await _page(request, user, webhook_id, code=422, error=problem, form=form)
    wanted = {"url": url, "events": events, "description": description.strip() or None}
    changes = {
        k: v
        for k, v in wanted.items()
        if v != (list(current.events) if k == "events" else getattr(current, k))
    }
    if changes:
        async with handoff_state(request).database.sessions() as session, session.begin():
            await endpoints.change(session, webhook_id, changes, now=datetime.now(UTC))
            detail = {"changes": sorted(changes)}
            await record(session, actor(request, user), "webhook.changed", webhook_id, detail)
    return redirect(f"/console/webhooks/{webhook_id}?saved=changed")


@router.post("/webhooks/{webhook_id}/replay")
async def replay(
    request: Request,
    webhook_id: str,
    user: WebhookAdminUser,
    csrf: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
    event_id: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)
    since, event_id = since.strip(), event_id.strip()
    problem = None
    start: datetime | None = None
    if bool(since) == bool(event_id):
        problem = _said(
            request, N_("since or event_id: give one of them (a time, or the webhook-id of a delivery).")
        )
    elif since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            problem = _said(request, N_("since: a date and time such as 2026-12-01T09:00 (UTC)."))
        else:
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
    elif len(event_id) > 256:
        problem = _said(request, N_("event_id: at most 256 characters."))
    if problem is not None:
        return await _page(request, user, webhook_id, code=422, error=problem)
    state = handoff_state(request)
    window = timedelta(seconds=state.settings.webhook_retry_window_s)
    async with state.database.sessions() as session, session.begin():
        try:
            await endpoints.get(session, webhook_id)
        except endpoints.UnknownEndpoint:
            raise unknown_endpoint(webhook_id) from None
        try:
            count = await deliveries.replay(
                session,
                webhook_id,
                since=start,
                event_id=event_id or None,
                now=datetime.now(UTC),
                window=window,
            )
        except deliveries.UnknownEvent:
            problem = _said(
                request, N_("event_id: no delivery of %(id)s to this endpoint."), id=repr(event_id)
            )
    if problem is not None:
        return await _page(request, user, webhook_id, code=422, error=problem)
    state.webhooks.sender.wake()
    return await _page(request, user, webhook_id, replayed=count)


@router.post("/webhooks/{webhook_id}/delete")
async def delete_endpoint(
    request: Request,
    webhook_id: str,
    user: WebhookAdminUser,
    csrf: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf)
    if confirm != webhook_id:
        message = N_("confirm: type the endpoint id (%(id)s) to remove it with its deliveries.")
        error = _said(request, message, id=webhook_id)
        return await _page(request, user, webhook_id, code=422, error=error)
    async with handoff_state(request).database.sessions() as session, session.begin():
        try:
            await endpoints.remove(session, webhook_id)
        except endpoints.UnknownEndpoint:
            raise unknown_endpoint(webhook_id) from None
        await record(session, actor(request, user), "webhook.deleted", webhook_id, {})
    return redirect("/console/webhooks")
