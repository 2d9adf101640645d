"""A test delivery sent now, signed like any other and recorded in the endpoint's deliveries: what
`POST /v1/webhooks/{id}/test` and the console's "Send test" both do."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.envelope import new_envelope

from . import deliveries, endpoints, signing, transport
from .slack import chat_test_message

TEST_TYPE = "leadstate.webhook.test.v1"


async def send_test(
    session: AsyncSession, row: Any, settings: Any, *, now: datetime
) -> tuple[str, transport.Attempt]:
    """(the test event's webhook-id, what the receiver answered); the session holds no transaction."""
    envelope = new_envelope(
        TEST_TYPE,
        {"webhook": row.endpoint_id, "message": "a test delivery from leadstate"},
        source="handoff",
        subject=None,
        time=now,
        id_="test_" + uuid.uuid4().hex,
    )
    body = envelope.to_bytes()
    if row.format == "slack":
        body = chat_test_message(settings.default_language)
    headers = signing.headers(endpoints.signing_secrets(row, now), envelope.id, int(now.timestamp()), body)
    async with transport.new_client() as client:
        attempt = await transport.post(
            client,
            row.url,
            body,
            headers,
            allow_private=settings.webhook_allow_private,
            timeout_s=settings.webhook_timeout_s,
        )
    async with session.begin():
        await deliveries.record_test(session, row.endpoint_id, envelope.id, body, attempt, now=now)
    return envelope.id, attempt
