"""/v1/webhooks: register, change, rotate, test and remove endpoints; read and replay their deliveries.
Every route needs the `webhooks:admin` scope. The secret appears only in the answers that create one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from starlette.responses import Response

from services.common.problems import Problem

from ..audit import record
from ..state import handoff_state
from ..webhooks import deliveries, endpoints
from ..webhooks.safety import UnsafeUrl, check_url
from ..webhooks.schemas import (
    Deliveries,
    Delivery,
    DeliveryStatus,
    Replay,
    Replayed,
    RotatedSecret,
    SecretRotation,
    TestResult,
    Webhook,
    WebhookChange,
    WebhookCreate,
    WebhookCreated,
    Webhooks,
)
from ..webhooks.testing import send_test
from .deps import Caller, SessionDep, require
from .schemas import AUTH_PROBLEMS, problems

WebhookAdmin = Annotated[Caller, Depends(require("webhooks:admin"))]
router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=problems(AUTH_PROBLEMS))
NOT_FOUND = problems({404: "No webhook endpoint has this id"})
INVALID = problems({413: "The body is too large", 422: "Invalid body: each bad field is named"})


def _settings(request: Request) -> Any:
    return handoff_state(request).settings


async def checked_url(request: Request, url: str) -> str:
    try:
        await check_url(url, allow_private=_settings(request).webhook_allow_private)
    except UnsafeUrl as exc:
        raise Problem(422, f"url refused: {exc}", errors=[{"field": "url", "message": str(exc)}]) from None
    return url


def check_slack_events(format_: str, events: list[str]) -> None:
    if not endpoints.slack_events_fit(format_, events):
        message = 'a slack endpoint takes lead.mql only (events: ["lead.mql"])'
        raise Problem(422, message, errors=[{"field": "events", "message": message}])


async def _found(session: SessionDep, webhook_id: str) -> Any:
    try:
        return await endpoints.get(session, webhook_id)
    except endpoints.UnknownEndpoint:
        raise Problem(404, f"no webhook endpoint {webhook_id!r}") from None


@router.post(
    "",
    operation_id="createWebhook",
    summary="Register an endpoint; the answer holds its signing secret, shown this once",
    status_code=201,
    responses=INVALID,
)
async def create_webhook(
    request: Request, body: WebhookCreate, caller: WebhookAdmin, session: SessionDep
) -> WebhookCreated:
    check_slack_events(body.format, list(body.events))
    url = await checked_url(request, body.url)
    now = datetime.now(UTC)
    new = endpoints.NewEndpoint(url, list(body.events), body.format, body.description, body.enabled)
    async with session.begin():
        row = await endpoints.create(session, new, created_by=caller.key_id, now=now)
        detail = {"url": row.url, "events": list(row.events), "format": row.format}
        await record(session, caller.actor, "webhook.created", row.endpoint_id, detail)
    return WebhookCreated(**Webhook.of(row, now).model_dump(), secret=row.secret)


@router.get("", operation_id="listWebhooks", summary="Every registered endpoint (secrets are never shown)")
async def list_webhooks(_: WebhookAdmin, session: SessionDep) -> Webhooks:
    now = datetime.now(UTC)
    return Webhooks(webhooks=[Webhook.of(row, now) for row in await endpoints.list_all(session)])


@router.get("/{webhook_id}", operation_id="getWebhook", summary="One endpoint", responses=NOT_FOUND)
async def get_webhook(webhook_id: str, _: WebhookAdmin, session: SessionDep) -> Webhook:
    return Webhook.of(await _found(session, webhook_id), datetime.now(UTC))


@router.patch(
    "/{webhook_id}",
    operation_id="updateWebhook",
    summary="Change the URL, events, description or enabled (enabling clears a disabled state)",
    responses={**NOT_FOUND, **INVALID},
)
async def update_webhook(
    request: Request, webhook_id: str, body: WebhookChange, caller: WebhookAdmin, session: SessionDep
) -> Webhook:
    changes = body.model_dump(exclude_unset=True)
    current = await _found(session, webhook_id)
    await session.rollback()  # the read above opened a transaction; the change takes its own
    if "events" in changes:
        check_slack_events(current.format, changes["events"])
    if "url" in changes:
        await checked_url(request, changes["url"])
    now = datetime.now(UTC)
    async with session.begin():
        try:
            row = await endpoints.change(session, webhook_id, changes, now=now)
        except endpoints.UnknownEndpoint:
            raise Problem(404, f"no webhook endpoint {webhook_id!r}") from None
        await record(session, caller.actor, "webhook.changed", webhook_id, {"changes": sorted(changes)})
    return Webhook.of(row, now)


@router.delete(
    "/{webhook_id}",
    operation_id="deleteWebhook",
    summary="Remove an endpoint and its deliveries",
    status_code=204,
    responses=NOT_FOUND,
)
async def delete_webhook(webhook_id: str, caller: WebhookAdmin, session: SessionDep) -> Response:
    async with session.begin():
        try:
            await endpoints.remove(session, webhook_id)
        except endpoints.UnknownEndpoint:
            raise Problem(404, f"no webhook endpoint {webhook_id!r}") from None
        await record(session, caller.actor, "webhook.deleted", webhook_id, {})
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/secret",
    operation_id="rotateWebhookSecret",
    summary="A new signing secret (shown once); the old one keeps signing during the grace period",
    responses={**NOT_FOUND, **INVALID},
)
async def rotate_secret(
    request: Request,
    webhook_id: str,
    caller: WebhookAdmin,
    session: SessionDep,
    body: Annotated[SecretRotation | None, Body()] = None,
) -> RotatedSecret:
    grace_s = body.grace_seconds if body and body.grace_seconds is not None else None
    grace = timedelta(seconds=_settings(request).webhook_rotation_grace_s if grace_s is None else grace_s)
    now = datetime.now(UTC)
    async with session.begin():
        try:
            row = await endpoints.rotate_secret(session, webhook_id, now=now, grace=grace)
        except endpoints.UnknownEndpoint:
            raise Problem(404, f"no webhook endpoint {webhook_id!r}") from None
        await record(session, caller.actor, "webhook.changed", webhook_id, {"changes": ["secret"]})
    return RotatedSecret(
        id=row.endpoint_id, secret=row.secret, previous_secret_valid_until=row.previous_until
    )


@router.post(
    "/{webhook_id}/test",
    operation_id="testWebhook",
    summary="Send a signed test event now and answer with what the receiver said (listed in deliveries)",
    responses=NOT_FOUND,
)
async def test_webhook(request: Request, webhook_id: str, _: WebhookAdmin, session: SessionDep) -> TestResult:
    row = await _found(session, webhook_id)
    await session.rollback()
    webhook_id, attempt = await send_test(session, row, _settings(request), now=datetime.now(UTC))
    return TestResult(
        webhook_id=webhook_id,
        delivered=attempt.delivered,
        status_code=attempt.status_code,
        error=attempt.error,
        latency_ms=attempt.latency_ms,
    )


@router.get(
    "/{webhook_id}/deliveries",
    operation_id="listWebhookDeliveries",
    summary="Deliveries to this endpoint, newest first: status, attempts, last answer and latency",
    responses=NOT_FOUND,
)
async def list_deliveries(
    webhook_id: str,
    _: WebhookAdmin,
    session: SessionDep,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Deliveries:
    await _found(session, webhook_id)
    rows = await deliveries.list_for(session, webhook_id, status=status, limit=limit, before=before)
    return Deliveries(
        deliveries=[Delivery.of(r) for r in rows],
        next_before=rows[-1].seq if len(rows) == limit else None,
    )


@router.post(
    "/{webhook_id}/replay",
    operation_id="replayWebhookDeliveries",
    summary="Send again the finished deliveries from a time or from an event on, in their order",
    responses={**NOT_FOUND, **INVALID},
)
async def replay(
    request: Request, webhook_id: str, body: Replay, _: WebhookAdmin, session: SessionDep
) -> Replayed:
    await _found(session, webhook_id)
    await session.rollback()
    now = datetime.now(UTC)
    window = timedelta(seconds=_settings(request).webhook_retry_window_s)
    async with session.begin():
        try:
            count = await deliveries.replay(
                session, webhook_id, since=body.since, event_id=body.event_id, now=now, window=window
            )
        except deliveries.UnknownEvent:
            message = "no delivery of this event to this endpoint"
            raise Problem(422, message, errors=[{"field": "event_id", "message": message}]) from None
    handoff_state(request).webhooks.sender.wake()
    return Replayed(replayed=count)
