"""Segment messages: the checks a tracking call must pass before anything of it is produced.

Pure and cheap on purpose: a batch of 500 messages is checked in a tight loop of dict lookups, with no
model objects, because this sits on the hot path of /v1/batch. The documented shape of the same rules
is in `openapi.py`; `tests/unit/ingest/` keeps the two in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

KINDS = ("track", "identify", "page", "screen", "group", "alias")
MESSAGE_MAX_BYTES = 32 * 1024
REQUEST_MAX_BYTES = 500 * 1024
BATCH_MAX_MESSAGES = 2500
MESSAGE_ID_MAX = 256  # the envelope id's limit
IDENTITY_MAX = 255  # an identity becomes a Kafka key and an index entry: bounded like an email address

FieldError = dict[str, str]

_OPTIONAL_STRINGS = ("userId", "anonymousId", "name", "category", "writeKey")
_OBJECTS = ("properties", "traits", "context", "integrations")
_REQUIRED_BY_KIND = {"track": ("event",), "group": ("groupId",), "alias": ("userId", "previousId")}
_IDENTITIES = ("userId", "anonymousId", "previousId", "groupId")

# What ingest did to an event time, recorded in the envelope's `timecorrection` attribute.
SKEW_IGNORED = "skew_ignored"
FUTURE_REPLACED = "future_replaced"


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeRules:
    """How far an event time may be from ingest's clock (LEADSTATE_MAX_CLOCK_SKEW_S, _MAX_FUTURE_S,
    _MIN_EVENT_TIME): a device clock is trusted only as far as a device clock plausibly errs."""

    max_skew: timedelta = timedelta(days=3)
    max_future: timedelta = timedelta(hours=24)
    floor: datetime = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Message:
    """A message that passed the checks: its document, kind, routing key and corrected event time."""

    doc: dict[str, Any]
    kind: str
    subject: str
    time: datetime
    corrections: tuple[str, ...] = field(default=())


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 date-time as Segment clients send it; naive values are read as UTC."""
    if not isinstance(value, str) or len(value) < 10 or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event_time(
    timestamp: datetime | None, sent_at: datetime | None, received_at: datetime, rules: TimeRules
) -> tuple[datetime | None, tuple[str, ...]]:
    """The bounded event time and the corrections made; (None, …) when it is before the floor.

    The skew is applied only when |receivedAt − sentAt| is plausible (a bogus sentAt would move the
    event by centuries); a time more than `max_future` after receivedAt becomes receivedAt (it would
    sit on top of every newest-first list forever). Never raises, whatever the two clocks say.
    """
    if timestamp is None:
        return received_at, ()
    corrections: tuple[str, ...] = ()
    skew = received_at - sent_at if sent_at is not None else timedelta(0)
    if abs(skew) > rules.max_skew:
        corrections, skew = (SKEW_IGNORED,), timedelta(0)
    try:
        time = (timestamp + skew).astimezone(UTC)
    except OverflowError:  # past year 1 or 9999 (skew, offset): past the floor or the future bound
        time = (datetime.max if timestamp.year > 5000 else datetime.min).replace(tzinfo=UTC)
    if time - received_at > rules.max_future:
        return received_at, (*corrections, FUTURE_REPLACED)
    if time < rules.floor:
        return None, corrections
    return time, corrections


def read_message(
    doc: object,
    *,
    kind: str | None,
    field: str,
    received_at: datetime,
    batch_sent_at: datetime | None,
    errors: list[FieldError],
    rules: TimeRules = TimeRules(),
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
    for name in _IDENTITIES:
        _bounded(doc.get(name), f"{field}{name}", errors)
    traits = doc.get("traits")
    if isinstance(traits, dict):
        _bounded(traits.get("email"), f"{field}traits.email", errors)
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
    time, corrections = event_time(timestamp, sent_at, received_at, rules)
    if time is None:
        floor = rules.floor.isoformat().replace("+00:00", "Z")
        message = f"before {floor}, the earliest event time kept"
        errors.append({"field": f"{field}timestamp", "message": message})
        return None
    return Message(doc, kind, subject, time, corrections)  # type: ignore[arg-type]


def message_too_large(doc: dict[str, Any]) -> bool:
    """Inside a batch the raw bytes of one message are not at hand: measure it re-serialized."""
    return len(orjson.dumps(doc)) > MESSAGE_MAX_BYTES


def _bounded(value: object, field: str, errors: list[FieldError]) -> None:
    if isinstance(value, str) and len(value) > IDENTITY_MAX:
        errors.append({"field": field, "message": f"at most {IDENTITY_MAX} characters (got {len(value)})"})


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
