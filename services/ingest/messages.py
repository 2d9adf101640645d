"""Segment messages: the checks a tracking call must pass before anything of it is produced.

Pure and cheap on purpose: a batch of 500 messages is checked in a tight loop of dict lookups, with no
model objects, because this sits on the hot path of /v1/batch. The documented shape of the same rules
is in `openapi.py`; `tests/unit/ingest/` keeps the two in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

KINDS = ("track", "identify", "page", "screen", "group", "alias")
MESSAGE_MAX_BYTES = 32 * 1024
REQUEST_MAX_BYTES = 500 * 1024
BATCH_MAX_MESSAGES = 2500
MESSAGE_ID_MAX = 256  # the envelope id's limit

FieldError = dict[str, str]

_OPTIONAL_STRINGS = ("userId", "anonymousId", "name", "category", "writeKey")
_OBJECTS = ("properties", "traits", "context", "integrations")
_REQUIRED_BY_KIND = {"track": ("event",), "group": ("groupId",), "alias": ("userId", "previousId")}


@dataclass(slots=True)
class Message:
    """A message that passed the checks: its document, kind, routing key and corrected event time."""

    doc: dict[str, Any]
    kind: str
    subject: str
    time: datetime


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 date-time as Segment clients send it; naive values are read as UTC."""
    if not isinstance(value, str) or len(value) < 10 or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def corrected_time(timestamp: datetime | None, sent_at: datetime | None, received_at: datetime) -> datetime:
    """Segment's clock-skew rule: the device clock is off by (sentAt − receivedAt), so shift timestamp
    by the same amount; with no timestamp the event happened when it was received."""
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp
    return timestamp + (received_at - sent_at)


def read_message(
    doc: object,
    *,
    kind: str | None,
    field: str,
    received_at: datetime,
    batch_sent_at: datetime | None,
    errors: list[FieldError],
) -> Message | None:
    """Check one message; append what is wrong to `errors` (fields prefixed by `field`) or return it.

    `kind` is the endpoint's type, or None inside a batch where each message names its own.
    """
    if not isinstance(doc, dict):
        errors.append({"field": field.rstrip(".") or "body", "message": "must be a JSON object"})
        return None
    found = len(errors)
    given_type = doc.get("type")
    if kind is None:
        if given_type not in KINDS:
            errors.append(_type_error(field, given_type))
            return None
        kind = given_type
    elif given_type is not None and given_type != kind:
        errors.append(
            {"field": f"{field}type", "message": f"must be {kind!r} on this endpoint (or left out)"}
        )

    for name in _OPTIONAL_STRINGS:
        value = doc.get(name)
        if value is not None and not isinstance(value, str):
            errors.append({"field": f"{field}{name}", "message": "must be a string"})
    for name in _OBJECTS:
        value = doc.get(name)
        if value is not None and not isinstance(value, dict):
            errors.append({"field": f"{field}{name}", "message": "must be a JSON object"})
    for name in _REQUIRED_BY_KIND.get(kind, ()):
        value = doc.get(name)
        if not isinstance(value, str) or not value:
            errors.append(
                {"field": f"{field}{name}", "message": f"a non-empty string is required for {kind}"}
            )

    user_id, anonymous_id = doc.get("userId"), doc.get("anonymousId")
    subject = user_id if isinstance(user_id, str) and user_id else anonymous_id
    if not (isinstance(subject, str) and subject):
        errors.append({"field": f"{field}userId", "message": "either userId or anonymousId is required"})

    message_id = doc.get("messageId")
    if message_id is not None and (
        not isinstance(message_id, str) or not 0 < len(message_id) <= MESSAGE_ID_MAX
    ):
        errors.append(
            {"field": f"{field}messageId", "message": f"must be a string of 1 to {MESSAGE_ID_MAX} characters"}
        )

    timestamp = _time_field(doc, "timestamp", field, errors)
    sent_at = _time_field(doc, "sentAt", field, errors) or batch_sent_at
    if len(errors) > found:
        return None
    try:
        time = corrected_time(timestamp, sent_at, received_at).astimezone(UTC)
    except OverflowError:
        errors.append({"field": f"{field}timestamp", "message": "out of range after clock-skew correction"})
        return None
    return Message(doc, kind, subject, time)  # type: ignore[arg-type]


def message_too_large(doc: dict[str, Any]) -> bool:
    """Inside a batch the raw bytes of one message are not at hand: measure it re-serialized."""
    return len(orjson.dumps(doc)) > MESSAGE_MAX_BYTES


def _time_field(doc: dict[str, Any], name: str, field: str, errors: list[FieldError]) -> datetime | None:
    value = doc.get(name)
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        errors.append({"field": f"{field}{name}", "message": "must be an ISO-8601 date-time string"})
    return parsed


def _type_error(field: str, given: object) -> FieldError:
    what = "is required" if given is None else f"{given!r} is not one of {', '.join(KINDS)}"
    if given is not None and not isinstance(given, str):
        what = "must be a string: one of " + ", ".join(KINDS)
    return {"field": f"{field}type", "message": what[:200]}
