"""The CloudEvents 1.0 envelope (structured JSON mode) that every message on every topic is.

`id` is the de-duplication key; `subject` is the lead's routing key and the Kafka message key.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SOURCE_PREFIX = "leadstate"
# asyncpg stores Python's first and last instants as PostgreSQL's -infinity and infinity: no envelope
# time may be either (ingest's own bounds keep event times far from both).
INFINITIES = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1, pattern=r"^leadstate\.[a-z0-9_.]+\.v[0-9]+$")
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    timecorrection: str | None = Field(
        default=None,
        pattern=r"^[a-z_]+( [a-z_]+)*$",
        description="What ingest changed about the event time: skew_ignored, future_replaced",
    )

    @field_validator("time")
    @classmethod
    def _storable_time(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        # the year first: comparing with the infinities asks both offsets (microseconds per envelope)
        if value.year in (1, 9999) and value in INFINITIES:
            raise ValueError("the first or last instant Python knows is stored as -infinity/infinity")
        return value

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    def key(self) -> bytes | None:
        return self.subject.encode() if self.subject else None


class EnvelopeError(ValueError):
    """A message is not a valid envelope; the text says why (it goes to the dead-letter topic)."""


def new_envelope(
    type_: str,
    data: dict[str, Any],
    *,
    source: str,
    subject: str | None,
    time: datetime,
    id_: str | None = None,
) -> Envelope:
    return Envelope(
        id=id_ or str(uuid.uuid4()),
        source=f"{SOURCE_PREFIX}/{source}",
        type=type_,
        time=time if time.tzinfo else time.replace(tzinfo=UTC),
        subject=subject,
        data=data,
    )


def envelope_bytes(
    type_: str, data: dict[str, Any], *, source: str, subject: str | None, time: datetime, id_: str
) -> bytes:
    """`new_envelope(...).to_bytes()` without building the model, for a producer writing thousands
    per transaction (the qualifier's lead.updated): the same document, byte for byte, when `data`
    holds JSON values only (tests/unit/qualifier/test_changelog.py compares both)."""
    doc: dict[str, Any] = {
        "specversion": "1.0",
        "id": id_,
        "source": f"{SOURCE_PREFIX}/{source}",
        "type": type_,
        "time": time if time.tzinfo else time.replace(tzinfo=UTC),
    }
    if subject is not None:
        doc["subject"] = subject
    doc["datacontenttype"] = "application/json"
    doc["data"] = data
    return orjson.dumps(doc, option=orjson.OPT_UTC_Z)


def parse_envelope(raw: bytes | None, *, expected_types: frozenset[str] | None = None) -> Envelope:
    if raw is None:
        raise EnvelopeError("empty message (tombstone)")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise EnvelopeError("not a JSON object")
    try:
        envelope = Envelope.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'envelope'}: {e['msg']}" for e in exc.errors()
        )
        raise EnvelopeError(f"not a CloudEvents envelope: {problems}") from None
    if expected_types is not None and envelope.type not in expected_types:
        raise EnvelopeError(f"unknown event type {envelope.type!r}; expected one of {sorted(expected_types)}")
    return envelope
