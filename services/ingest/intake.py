"""One tracking request from bytes to acknowledgement: key, body, rate, checks, envelopes, broker.

Everything is checked before anything is produced, so a request is either stored whole or answered
with an error and nothing of it produced; a batch with one bad message is refused whole, naming it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import Response

from services.common.broker import BrokerLink
from services.common.problems import Problem
from services.common.settings import Settings

from .access import RateLimiter, basic_username, check_write_key
from .body import read_json_object
from .delivery import deliver
from .envelopes import Record, received_stamp, to_record
from .messages import (
    BATCH_MAX_MESSAGES,
    MESSAGE_MAX_BYTES,
    REQUEST_MAX_BYTES,
    FieldError,
    Message,
    TimeRules,
    message_too_large,
    parse_time,
    read_message,
)
from .text import unstorable

log = logging.getLogger(__name__)
ACCEPTED = Counter("leadstate_ingest_messages_total", "Messages the broker acknowledged", ["endpoint"])
SUCCESS = b'{"success":true}'
_SHOWN_ERRORS = 50


class Intake:
    def __init__(self, settings: Settings, broker: BrokerLink) -> None:
        self.broker = broker
        self.topic = settings.topic_events
        self.write_keys = settings.write_keys
        self.timeout_s = settings.produce_timeout_s
        self.limiter = RateLimiter(settings.rate_limit_per_s)
        self.time_rules = TimeRules(
            max_skew=timedelta(seconds=settings.max_clock_skew_s),
            max_future=timedelta(seconds=settings.max_future_s),
            floor=settings.min_event_time,
        )

    async def accept(self, request: Request, kind: str | None) -> Response:
        """`kind` is the endpoint's message type; None for /v1/batch."""
        # A Basic key is checked before the body is read: a wrong key costs us no upload.
        key = basic_username(request.headers.get("authorization"))
        if key is not None:
            check_write_key(key, self.write_keys)
        doc = await read_json_object(request, limit=MESSAGE_MAX_BYTES if kind else REQUEST_MAX_BYTES)
        write_key = check_write_key(doc.get("writeKey") if key is None else key, self.write_keys)
        self.limiter.check(write_key)
        refused = unstorable(doc)
        if refused:
            raise _invalid(refused, "the batch" if kind is None else "the message")

        now = datetime.now(UTC)
        # receivedAt is published in milliseconds; correct clocks from the same value, so that
        # time = timestamp + (receivedAt − sentAt) holds exactly for anyone re-checking it.
        received_at = now.replace(microsecond=now.microsecond // 1000 * 1000)
        records = self._batch(doc, received_at) if kind is None else self._single(doc, kind, received_at)
        await deliver(self.broker, self.topic, records, timeout_s=self.timeout_s)
        ACCEPTED.labels(kind or "batch").inc(len(records))
        log.debug("stored %d messages", len(records))
        return Response(SUCCESS, media_type="application/json")

    def _single(self, doc: dict[str, Any], kind: str, received_at: datetime) -> list[Record]:
        return [single_record(doc, kind, received_at, self.time_rules)]

    def _batch(self, doc: dict[str, Any], received_at: datetime) -> list[Record]:
        items = doc.get("batch")
        errors: list[FieldError] = []
        if not isinstance(items, list) or not items:
            errors.append({"field": "batch", "message": "a non-empty list of messages is required"})
        elif len(items) > BATCH_MAX_MESSAGES:
            errors.append({"field": "batch", "message": f"at most {BATCH_MAX_MESSAGES} messages"})
        shared: dict[str, dict[str, Any]] = {}
        for name in ("context", "integrations"):
            value = doc.get(name)
            if isinstance(value, dict):
                shared[name] = value
            elif value is not None:
                errors.append({"field": name, "message": "must be a JSON object"})
        sent_at_raw = doc.get("sentAt")
        sent_at = parse_time(sent_at_raw)
        if sent_at_raw is not None and sent_at is None:
            errors.append({"field": "sentAt", "message": "must be an ISO-8601 date-time string"})
        if errors:
            raise _invalid(errors, "the batch")

        messages: list[Message] = []
        too_large: list[FieldError] = []
        for index, item in enumerate(items):  # type: ignore[arg-type]
            message = read_message(
                item,
                kind=None,
                field=f"batch[{index}].",
                received_at=received_at,
                batch_sent_at=sent_at,
                errors=errors,
                rules=self.time_rules,
            )
            if message is None:
                continue
            if message_too_large(message.doc):
                too_large.append({"field": f"batch[{index}]", "message": "over 32 KB"})
            messages.append(message)
        if errors:
            raise _invalid(errors, "the batch")
        if too_large:
            raise Problem(
                413,
                f"{len(too_large)} message(s) over 32 KB; the batch was refused whole, nothing was stored",
                errors=too_large[:_SHOWN_ERRORS],
            )

        stamp = received_stamp(received_at)
        sent_stamp = sent_at_raw if isinstance(sent_at_raw, str) else None
        for message in messages:
            for name, values in shared.items():
                # Segment merges the batch's context and integrations into each message; its own win.
                message.doc[name] = {**values, **(message.doc.get(name) or {})}
        return [to_record(m, received_at=stamp, batch_sent_at=sent_stamp) for m in messages]


def single_record(
    doc: dict[str, Any], kind: str, received_at: datetime, rules: TimeRules = TimeRules()
) -> Record:
    """One message of a `kind` endpoint as ingest stores it on `lead.events`, or the 400 naming what
    is wrong. The benchmark's pre-loaded topic is built here too, so it holds exactly what ingest writes."""
    errors: list[FieldError] = []
    message = read_message(
        doc, kind=kind, field="", received_at=received_at, batch_sent_at=None, errors=errors, rules=rules
    )
    if message is None:
        raise _invalid(errors, "the message")
    return to_record(message, received_at=received_stamp(received_at))


def _invalid(errors: list[FieldError], what: str) -> Problem:
    listed = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return Problem(
        400,
        f"{what} was refused whole, nothing was stored: {listed}{more}",
        errors=errors[:_SHOWN_ERRORS],
    )
