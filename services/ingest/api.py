"""Tracking endpoints (thin platform version: /v1/track)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, model_validator

from services.common.auth import find_key
from services.common.envelope import new_envelope
from services.common.problems import Problem

router = APIRouter(prefix="/v1", tags=["tracking"])


class TrackMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    userId: str | None = None
    anonymousId: str | None = None
    event: str
    properties: dict[str, Any] = {}
    messageId: str | None = None
    timestamp: datetime | None = None
    writeKey: str | None = None

    @model_validator(mode="after")
    def _needs_identity(self) -> TrackMessage:
        if not (self.userId or self.anonymousId):
            raise ValueError("either userId or anonymousId is required")
        return self


def _authenticate(request: Request, body_key: str | None) -> None:
    presented = body_key
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            presented = base64.b64decode(header[6:]).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            presented = None
    if not presented or find_key(presented, request.app.state.settings.write_keys) is None:
        raise Problem(
            401, "missing or invalid write key", headers={"WWW-Authenticate": 'Basic realm="ingest"'}
        )


@router.post("/track", operation_id="track", summary="Record an action a user performed")
async def track(message: TrackMessage, request: Request) -> dict[str, bool]:
    _authenticate(request, message.writeKey)
    settings = request.app.state.settings
    broker = request.app.state.broker
    received = datetime.now(UTC)
    data = message.model_dump(mode="json", exclude_none=True, exclude={"writeKey"})
    data.update(type="track", receivedAt=received.isoformat())
    envelope = new_envelope(
        "leadstate.track.v1",
        data,
        source="ingest",
        subject=message.userId or message.anonymousId,
        time=message.timestamp or received,
        id_=message.messageId or str(uuid.uuid4()),
    )
    if not broker.connected.is_set():
        raise Problem(503, "broker unavailable; nothing was stored", headers={"Retry-After": "5"})
    try:
        future = await broker.producer.send(
            settings.topic_events, value=envelope.to_bytes(), key=envelope.key()
        )
        await asyncio.wait_for(future, settings.produce_timeout_s)
    except (KafkaError, TimeoutError) as exc:
        raise Problem(
            503,
            f"broker did not acknowledge ({type(exc).__name__}); nothing was stored",
            headers={"Retry-After": "5"},
        ) from None
    return {"success": True}
