"""Each tracking call reaches lead.events as one envelope, only after the broker acknowledged it."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jsonschema
import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from services.stack.contracts import CONTRACTS
from tests.conftest import WRITE_KEY, Topics
from tests.support import read_envelopes, read_topic

SCHEMA = json.loads((CONTRACTS / "events" / "tracking.v1.schema.json").read_text())
CALLS = {
    "track": {"userId": "u-1", "event": "Content Downloaded", "properties": {"asset_id": "wp-1"}},
    "identify": {"userId": "u-1", "anonymousId": "a-1", "traits": {"email": "lead@example.com"}},
    "page": {"anonymousId": "a-1", "name": "Pricing", "properties": {"url": "https://x.test/pricing"}},
    "screen": {"userId": "u-1", "name": "Dashboard"},
    "group": {"userId": "u-1", "groupId": "acme", "traits": {"industry": "software"}},
    "alias": {"userId": "u-1", "previousId": "a-1"},
}


def _data_is_valid(data: dict[str, object]) -> None:
    jsonschema.validate(data, SCHEMA, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("kind", sorted(CALLS))
async def test_each_call_becomes_one_envelope(
    kind: str, ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    message_id = str(uuid.uuid4())
    answer = await ingest.post(f"/v1/{kind}", json={**CALLS[kind], "messageId": message_id})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True}

    [envelope] = await read_envelopes(kafka_bootstrap, topics.events, expect=1)
    assert envelope.id == message_id
    assert envelope.type == f"leadstate.{kind}.v1"
    assert envelope.subject == ("a-1" if kind == "page" else "u-1")
    assert envelope.data["type"] == kind
    assert {k: envelope.data[k] for k in CALLS[kind]} == CALLS[kind]
    _data_is_valid(envelope.data)


async def test_kafka_key_is_user_id_else_anonymous_id(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    await ingest.post(
        "/v1/batch",
        json={
            "batch": [
                {"type": "track", "userId": "known", "anonymousId": "cookie", "event": "Form Submitted"},
                {"type": "page", "anonymousId": "cookie-only"},
            ]
        },
    )
    await read_topic(kafka_bootstrap, topics.events, expect=2)
    consumer = AIOKafkaConsumer(
        topics.events, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        keys: set[bytes] = set()
        while len(keys) < 2:
            batch = await consumer.getmany(timeout_ms=500)
            keys |= {r.key for records in batch.values() for r in records}
    finally:
        await consumer.stop()
    assert keys == {b"known", b"cookie-only"}


async def test_write_key_in_the_body_and_analytics_js_paths(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    """analytics.js posts text/plain to /v1/t, /v1/p, … with writeKey in the body and no Basic auth."""
    body = {"writeKey": WRITE_KEY, "anonymousId": "a-9", "userId": None, "event": "Seminar Registered"}
    answer = await ingest.post(
        "/v1/t", content=orjson.dumps(body), headers={"Content-Type": "text/plain"}, auth=None
    )
    assert answer.status_code == 200, answer.text
    answer = await ingest.post("/v1/page", json={"writeKey": WRITE_KEY, "anonymousId": "a-9"}, auth=None)
    assert answer.status_code == 200, answer.text

    envelopes = await read_envelopes(kafka_bootstrap, topics.events, expect=2)
    assert sorted(e.type for e in envelopes) == ["leadstate.page.v1", "leadstate.track.v1"]
    assert all("writeKey" not in e.data for e in envelopes), "the secret must not reach the topic"
    for envelope in envelopes:
        _data_is_valid(envelope.data)


async def test_batch_of_500_is_stored_whole(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(500)]
    batch = [
        {"type": "track", "userId": f"u-{i % 37}", "event": "Content Downloaded", "messageId": ids[i]}
        for i in range(500)
    ]
    answer = await ingest.post("/v1/batch", json={"batch": batch, "sentAt": datetime.now().isoformat()})
    assert answer.status_code == 200, answer.text
    envelopes = await read_envelopes(kafka_bootstrap, topics.events, expect=500)
    assert sorted(e.id for e in envelopes) == sorted(ids)


async def test_gzip_body(ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics) -> None:
    """Segment's server SDKs can gzip their batches (gzip=True)."""
    body = gzip.compress(orjson.dumps({"batch": [{"type": "identify", "userId": "u-z", "traits": {}}]}))
    answer = await ingest.post(
        "/v1/batch",
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert answer.status_code == 200, answer.text
    [envelope] = await read_envelopes(kafka_bootstrap, topics.events, expect=1)
    assert envelope.subject == "u-z"


async def test_clock_skew_is_corrected(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    """A device whose clock is 2 hours ahead: its timestamp is moved back by the measured skew."""
    device_now = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    happened = device_now - timedelta(minutes=5)
    single = {
        "userId": "u-s",
        "event": "Form Submitted",
        "timestamp": happened.isoformat(),
        "sentAt": device_now.isoformat(),
    }
    assert (await ingest.post("/v1/track", json=single)).status_code == 200
    batched = {
        "sentAt": device_now.isoformat(),
        "batch": [
            {"type": "page", "userId": "u-b", "timestamp": happened.isoformat()},
            {"type": "page", "userId": "u-n"},
        ],
    }
    assert (await ingest.post("/v1/batch", json=batched)).status_code == 200

    envelopes = {e.subject: e for e in await read_envelopes(kafka_bootstrap, topics.events, expect=3)}
    for subject in ("u-s", "u-b"):
        envelope = envelopes[subject]
        received = datetime.fromisoformat(envelope.data["receivedAt"])
        assert envelope.time == happened + (received - device_now)
        assert envelope.time == received - timedelta(minutes=5)
        assert envelope.data["timestamp"] == happened.isoformat(), "the device's value is kept as sent"
    assert envelopes["u-b"].data["sentAt"] == device_now.isoformat()
    no_timestamp = envelopes["u-n"]
    assert no_timestamp.time == datetime.fromisoformat(no_timestamp.data["receivedAt"])


async def test_retry_with_the_same_message_id_keeps_the_envelope_id(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    """A retried request is produced again under the same id; consumers de-duplicate by that id."""
    message = {"userId": "u-r", "event": "Seminar Attended", "messageId": "retry-1"}
    for _ in range(2):
        assert (await ingest.post("/v1/track", json=message)).status_code == 200
    envelopes = await read_envelopes(kafka_bootstrap, topics.events, expect=2)
    assert {e.id for e in envelopes} == {"retry-1"}


async def test_generated_message_ids_are_unique(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    batch = [{"type": "track", "userId": "u-g", "event": "Form Submitted"} for _ in range(3)]
    assert (await ingest.post("/v1/batch", json={"batch": batch})).status_code == 200
    envelopes = await read_envelopes(kafka_bootstrap, topics.events, expect=3)
    assert len({e.id for e in envelopes}) == 3
    assert all(e.data["messageId"] == e.id for e in envelopes)


async def test_batch_context_is_merged_into_each_message(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    body = {
        "context": {"library": {"name": "server"}, "ip": "203.0.113.1"},
        "batch": [{"type": "page", "userId": "u-c", "context": {"ip": "198.51.100.7"}}],
    }
    assert (await ingest.post("/v1/batch", json=body)).status_code == 200
    [envelope] = await read_envelopes(kafka_bootstrap, topics.events, expect=1)
    assert envelope.data["context"] == {"library": {"name": "server"}, "ip": "198.51.100.7"}
