"""The message checks, the clock-skew rule, the envelope bytes and the rate limiter, without IO."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from services.common.envelope import parse_envelope
from services.ingest.access import RateLimiter, basic_username
from services.ingest.envelopes import to_record
from services.ingest.messages import FUTURE_REPLACED, SKEW_IGNORED, TimeRules, event_time, read_message
from services.ingest.openapi import MODELS, Batch

RECEIVED = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def check(doc: object, kind: str | None = "track") -> tuple[object, list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    message = read_message(doc, kind=kind, field="", received_at=RECEIVED, batch_sent_at=None, errors=errors)
    return message, errors


RULES = TimeRules()


def test_skew_rule() -> None:
    happened = datetime(2030, 1, 1, 13, 55, tzinfo=UTC)  # device clock 2 h ahead
    sent = datetime(2030, 1, 1, 14, 0, tzinfo=UTC)
    assert event_time(happened, sent, RECEIVED, RULES) == (RECEIVED - timedelta(minutes=5), ())
    assert event_time(happened, None, RECEIVED, RULES) == (happened, ())
    assert event_time(None, sent, RECEIVED, RULES) == (RECEIVED, ())


def test_an_implausible_skew_is_ignored_and_said() -> None:
    happened = RECEIVED - timedelta(minutes=1)
    bogus = datetime(1, 1, 1, tzinfo=UTC)
    assert event_time(happened, bogus, RECEIVED, RULES) == (happened, (SKEW_IGNORED,))
    days_off = RECEIVED - RULES.max_skew - timedelta(seconds=1)
    assert event_time(happened, days_off, RECEIVED, RULES) == (happened, (SKEW_IGNORED,))
    ahead = RECEIVED + RULES.max_skew  # a device clock three days fast: still corrected
    assert event_time(happened, ahead, RECEIVED, RULES) == (happened - RULES.max_skew, ())


def test_the_future_bound_and_the_floor() -> None:
    latest = RECEIVED + RULES.max_future
    assert event_time(latest, None, RECEIVED, RULES) == (latest, ())
    beyond = latest + timedelta(microseconds=1)
    assert event_time(beyond, None, RECEIVED, RULES) == (RECEIVED, (FUTURE_REPLACED,))
    last = datetime.max.replace(tzinfo=UTC)
    assert event_time(last, datetime(1, 1, 1, tzinfo=UTC), RECEIVED, RULES) == (
        RECEIVED,
        (SKEW_IGNORED, FUTURE_REPLACED),
    )
    assert event_time(RULES.floor, None, RECEIVED, RULES) == (RULES.floor, ())
    assert event_time(RULES.floor - timedelta(microseconds=1), None, RECEIVED, RULES)[0] is None


def test_times_past_python_s_range_after_correction_are_bounded_not_a_crash() -> None:
    message, errors = check(
        {
            "userId": "u",
            "event": "x",
            "timestamp": "9999-12-31T23:59:59+00:00",
            "sentAt": "2030-01-01T10:00:00Z",
        }
    )
    assert errors == [] and message.time == RECEIVED  # type: ignore[union-attr]
    message, errors = check({"userId": "u", "event": "x", "timestamp": "0001-01-01T00:30:00+01:00"})
    assert message is None and errors[0]["field"] == "timestamp"
    message, errors = check({"userId": "u", "event": "x", "timestamp": "9999-12-31T23:00:00-05:00"})
    assert errors == [] and message.time == RECEIVED  # type: ignore[union-attr]


def test_offsets_and_naive_times() -> None:
    message, _ = check({"userId": "u", "event": "x", "timestamp": "2030-01-01T21:00:00+09:00"})
    assert message.time == RECEIVED  # type: ignore[union-attr]
    message, _ = check({"userId": "u", "event": "x", "timestamp": "2030-01-01T12:00:00"})
    assert message.time == RECEIVED  # type: ignore[union-attr]


def test_identity_rules() -> None:
    assert check({"anonymousId": "a", "event": "x"})[0].subject == "a"  # type: ignore[union-attr]
    assert check({"userId": "u", "anonymousId": "a", "event": "x"})[0].subject == "u"  # type: ignore[union-attr]
    assert check({"userId": None, "anonymousId": "a", "event": "x"})[0] is not None
    assert check({"userId": "", "event": "x"})[1] == [
        {"field": "userId", "message": "either userId or anonymousId is required"}
    ]


def test_every_error_is_reported_at_once() -> None:
    _, errors = check({"event": 1, "properties": [], "timestamp": "soon"})
    assert {e["field"] for e in errors} == {"event", "properties", "timestamp", "userId"}


def test_batch_messages_need_a_known_type() -> None:
    assert check({"userId": "u"}, kind=None)[1][0]["field"] == "type"
    assert check({"userId": "u", "type": ["track"]}, kind=None)[1][0]["field"] == "type"
    assert check({"userId": "u", "type": "identify"}, kind=None)[0].kind == "identify"  # type: ignore[union-attr]


def test_envelope_bytes_are_a_valid_envelope() -> None:
    message, _ = check({"userId": "u", "event": "x", "writeKey": "secret", "messageId": "m-1"})
    record = to_record(message, received_at="2030-01-01T12:00:00.000Z")  # type: ignore[arg-type]
    envelope = parse_envelope(record.value)
    assert (envelope.id, envelope.type, envelope.subject, record.key) == (
        "m-1",
        "leadstate.track.v1",
        "u",
        b"u",
    )
    assert envelope.time == RECEIVED
    assert envelope.data == {
        "userId": "u",
        "event": "x",
        "type": "track",
        "messageId": "m-1",
        "receivedAt": "2030-01-01T12:00:00.000Z",
    }


@pytest.mark.parametrize(
    "edge",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T01:00:00+01:00",  # the same instant written with an offset
        "9999-12-31T23:59:59.999999Z",
        "9999-12-31T22:59:59.999999-01:00",
    ],
)
def test_an_envelope_at_an_instant_stored_as_infinity_is_refused(edge: str) -> None:
    doc = {"id": "m-1", "source": "leadstate/ingest", "type": "leadstate.track.v1", "time": edge, "data": {}}
    with pytest.raises(ValueError, match=r"time: .*infinity"):
        parse_envelope(json.dumps(doc).encode())
    assert parse_envelope(json.dumps({**doc, "time": "2030-01-01T00:00:00Z"}).encode()).id == "m-1"


def test_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert [limiter.wait_s("k") for _ in range(3)] == [0.0, 0.0, 0.5]
    assert limiter.wait_s("other") == 0.0
    now[0] = 0.5
    assert limiter.wait_s("k") == 0.0
    assert RateLimiter(0).wait_s("k") == 0.0


def test_basic_username() -> None:
    assert basic_username("Basic d2tfMTIzOg==") == "wk_123"
    assert basic_username("Bearer abc") is None
    assert basic_username(None) is None


SAMPLES = {
    "track": ({"userId": "u", "event": "e"}, {"userId": "u"}),
    "identify": ({"anonymousId": "a", "traits": {"k": 1}}, {"traits": {}}),
    "page": ({"anonymousId": "a", "name": None}, {"anonymousId": "a", "properties": []}),
    "screen": ({"userId": "u", "category": "c"}, {"userId": "u", "name": 3}),
    "group": ({"userId": "u", "groupId": "g"}, {"userId": "u", "groupId": ""}),
    "alias": ({"userId": "u", "previousId": "p"}, {"anonymousId": "a", "previousId": "p"}),
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_documented_schema_agrees_with_the_checks(kind: str) -> None:
    """What openapi.py documents is what messages.py accepts, on examples at the edges."""
    schema = _components()
    model = {"$ref": f"#/components/schemas/{MODELS[kind].__name__}", "components": schema["components"]}
    good, bad = SAMPLES[kind]
    assert check(good, kind)[0] is not None
    jsonschema.validate(good, model)
    assert check(bad, kind)[0] is None
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, model)


def _components() -> dict[str, object]:
    from pydantic.json_schema import models_json_schema

    _, defs = models_json_schema(
        [(m, "validation") for m in [*MODELS.values(), Batch]], ref_template="#/components/schemas/{model}"
    )
    return json.loads(json.dumps({"components": {"schemas": defs["$defs"]}}))
