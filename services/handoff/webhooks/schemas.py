"""The webhook API's bodies and answers (the OpenAPI contract in contracts/handoff.openapi.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from .endpoints import signing_secrets, state

EventName = Literal["lead.mql", "lead.decision", "lead.updated", "account.mqa", "account.decision"]
Format = Literal["standard", "slack"]
DeliveryStatus = Literal["pending", "delivered", "failed"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(_Strict):
    url: str = Field(min_length=1, max_length=2000, description="https:// only, to a public address")
    events: list[EventName] = Field(min_length=1, max_length=10)
    format: Format = Field(
        "standard",
        description="`standard`: the CloudEvents envelope, signed (Standard Webhooks); "
        "`slack`: a chat message per new MQL (Slack incoming-webhook JSON)",
    )
    description: str | None = Field(None, max_length=500)
    enabled: bool = True


class WebhookChange(_Strict):
    url: str | None = Field(None, min_length=1, max_length=2000)
    events: list[EventName] | None = Field(None, min_length=1, max_length=10)
    description: str | None = Field(None, max_length=500)
    enabled: bool | None = Field(None, description="true also clears a `disabled` state")

    @model_validator(mode="after")
    def _something(self) -> WebhookChange:
        if not self.model_fields_set:
            raise ValueError("nothing to change: send one of url, events, description, enabled")
        return self

    @field_validator("url", "events", "enabled")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:  # runs only for a field that was sent: an explicit null
            raise ValueError("cannot be null")
        return value


class Webhook(BaseModel):
    id: str
    url: str
    format: Format
    events: list[str]
    description: str | None
    enabled: bool
    state: Literal["enabled", "paused", "disabled"] = Field(
        description="`paused`: enabled is false; `disabled`: failing continuously, see disabled_reason"
    )
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_valid_until: datetime | None = Field(
        description="during a rotation's grace period the old secret signs too"
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any, now: datetime) -> Webhook:
        return cls(
            id=row.endpoint_id,
            url=row.url,
            format=row.format,
            events=list(row.events),
            description=row.description,
            enabled=row.enabled,
            state=state(row),  # type: ignore[arg-type]
            disabled_reason=row.disabled_reason,
            failing_since=row.failing_since,
            previous_secret_valid_until=row.previous_until if len(signing_secrets(row, now)) > 1 else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class WebhookCreated(Webhook):
    secret: str = Field(description="`whsec_...`: shown once, here; store it to verify signatures")


class Webhooks(BaseModel):
    webhooks: list[Webhook]


class SecretRotation(_Strict):
    grace_seconds: int | None = Field(
        None, ge=0, le=7 * 86400, description="how long the old secret keeps signing; default the setting"
    )


class RotatedSecret(BaseModel):
    id: str
    secret: str = Field(description="the new `whsec_...` secret: shown once, here")
    previous_secret_valid_until: datetime | None


class TestResult(BaseModel):
    webhook_id: str
    delivered: bool
    status_code: int | None
    error: str | None
    latency_ms: float


class Delivery(BaseModel):
    seq: int = Field(description="the order of deliveries; `before` pages by it")
    webhook_id: str = Field(description="the envelope id, sent as the webhook-id header")
    event_type: str
    lead_id: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: float | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Delivery:
        return cls(
            seq=row.seq,
            webhook_id=row.event_id,
            event_type=row.event_type,
            lead_id=row.lead_id,
            status=row.status,
            attempts=row.attempts,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            last_latency_ms=row.last_latency_ms,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )


class Deliveries(BaseModel):
    deliveries: list[Delivery]
    next_before: int | None = Field(description="pass as `before` for the next (older) page")


class Replay(_Strict):
    since: AwareDatetime | None = Field(None, description="deliveries created at or after this time")
    event_id: str | None = Field(None, min_length=1, max_length=256, description="this event and later")

    @model_validator(mode="after")
    def _one(self) -> Replay:
        if (self.since is None) == (self.event_id is None):
            raise ValueError("send exactly one of since, event_id")
        return self


class Replayed(BaseModel):
    replayed: int = Field(description="finished deliveries set to be sent again, in their order")
