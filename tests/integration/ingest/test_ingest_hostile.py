"""What a site visitor holding the public write key can send: implausible clocks, characters PostgreSQL
cannot store, identities of any length. Each is either corrected (and the correction recorded in the
envelope) or refused with a 400 naming the field, never acknowledged and then lost downstream."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import Topics
from tests.integration.ingest.test_ingest_refusals import assert_problem, assert_topic_holds_only_a_marker
from tests.support import read_envelopes


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def _stored_one(ingest: httpx.AsyncClient, bootstrap: str, topic: str, body: dict[str, object]):  # type: ignore[no-untyped-def]
    message_id = str(uuid.uuid4())
    answer = await ingest.post("/v1/track", json={**body, "messageId": message_id})
    assert answer.status_code == 200, answer.text
    [envelope] = await read_envelopes(bootstrap, topic, expect=1)
    assert envelope.id == message_id
    return envelope


async def test_a_far_future_timestamp_is_replaced_by_received_at(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    body = {"userId": "u-1", "event": "Seminar Attended", "timestamp": "9999-12-31T23:59:59Z"}
    envelope = await _stored_one(ingest, kafka_bootstrap, topics.events, body)
    received_at = datetime.fromisoformat(envelope.data["receivedAt"])
    assert envelope.time == received_at
    assert envelope.timecorrection == "future_replaced"
    assert envelope.data["timestamp"] == "9999-12-31T23:59:59Z"  # the client's value is kept as sent


async def test_a_bogus_sent_at_does_not_move_the_event_by_centuries(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    a_minute_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    body = {
        "userId": "u-1",
        "event": "Content Downloaded",
        "timestamp": _iso(a_minute_ago),
        "sentAt": "0001-01-01T00:00:00Z",
    }
    envelope = await _stored_one(ingest, kafka_bootstrap, topics.events, body)
    assert envelope.time == a_minute_ago  # the implausible skew is not applied
    assert envelope.timecorrection == "skew_ignored"


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z"])
async def test_a_timestamp_before_the_floor_is_refused_naming_it(
    timestamp: str, ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    answer = await ingest.post("/v1/track", json={"userId": "u", "event": "x", "timestamp": timestamp})
    assert_problem(answer, 400, "timestamp")
    await assert_topic_holds_only_a_marker(ingest, kafka_bootstrap, topics.events)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/track", {"userId": "u\x00", "event": "x"}, "userId"),
        ("/v1/track", {"userId": "u", "event": "x", "properties": {"title": "a\x00b"}}, "properties.title"),
        (
            "/v1/track",
            {"userId": "u", "event": "x", "properties": {"tags": ["ok", "\x00"]}},
            "properties.tags[1]",
        ),
        ("/v1/identify", {"userId": "u", "traits": {"na\x00me": "x"}}, "traits.na\\u0000me"),
        (
            "/v1/track",
            {"userId": "u", "event": "x", "context": {"page": {"title": "\x00"}}},
            "context.page.title",
        ),
        (
            "/v1/batch",
            {"batch": [{"type": "page", "userId": "u"}, {"type": "track", "userId": "u", "event": "\x00"}]},
            "batch[1].event",
        ),
        ("/v1/batch", {"batch": [{"type": "page", "userId": "u"}], "context": {"ip": "\x00"}}, "context.ip"),
    ],
)
async def test_a_nul_character_anywhere_is_refused_naming_the_field(
    path: str,
    body: dict[str, object],
    field: str,
    ingest: httpx.AsyncClient,
    kafka_bootstrap: str,
    topics: Topics,
) -> None:
    assert_problem(await ingest.post(path, json=body), 400, field)
    await assert_topic_holds_only_a_marker(ingest, kafka_bootstrap, topics.events)


async def test_a_lone_surrogate_is_refused_as_invalid_json(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    body = b'{"userId": "u", "event": "x", "properties": {"title": "\\ud800"}}'
    answer = await ingest.post("/v1/track", content=body, headers={"Content-Type": "application/json"})
    assert_problem(answer, 400, "body")
    await assert_topic_holds_only_a_marker(ingest, kafka_bootstrap, topics.events)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/track", {"userId": "u" * 30_000, "event": "x"}, "userId"),
        ("/v1/track", {"anonymousId": "a" * 256, "event": "x"}, "anonymousId"),
        ("/v1/alias", {"userId": "u", "previousId": "p" * 256}, "previousId"),
        ("/v1/group", {"userId": "u", "groupId": "g" * 256}, "groupId"),
        ("/v1/identify", {"userId": "u", "traits": {"email": "e" * 250 + "@x.example"}}, "traits.email"),
    ],
)
async def test_an_identity_over_255_characters_is_refused(
    path: str,
    body: dict[str, object],
    field: str,
    ingest: httpx.AsyncClient,
    kafka_bootstrap: str,
    topics: Topics,
) -> None:
    assert_problem(await ingest.post(path, json=body), 400, field)
    await assert_topic_holds_only_a_marker(ingest, kafka_bootstrap, topics.events)


async def test_an_identity_of_255_characters_is_stored(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    envelope = await _stored_one(ingest, kafka_bootstrap, topics.events, {"userId": "u" * 255, "event": "x"})
    assert envelope.subject == "u" * 255


def _nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(("path", "single"), [("/v1/track", True), ("/v1/batch", False)])
async def test_nesting_deeper_than_the_envelope_can_hold_is_refused_not_a_500(
    path: str, single: bool, ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    message = {"type": "track", "userId": "u", "event": "x", "properties": {"p": _nested(600)}}
    body = message if single else {"batch": [message]}
    doc = assert_problem(await ingest.post(path, json=body), 400)
    assert doc["errors"][0]["field"].startswith(
        "properties.p[0][0]" if single else "batch[0].properties.p[0]"
    )
    await assert_topic_holds_only_a_marker(ingest, kafka_bootstrap, topics.events)


async def test_nesting_the_envelope_can_hold_is_stored(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    # the message is level 1, properties 2, p 3: 250 more lists reach the 253 levels a request may have
    body = {"userId": "u", "event": "x", "properties": {"p": _nested(250)}}
    envelope = await _stored_one(ingest, kafka_bootstrap, topics.events, body)
    assert envelope.data["properties"]["p"] == _nested(250)
