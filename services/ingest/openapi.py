"""The documented shape of the tracking API: Segment's message bodies and the answers.

The routes parse their bodies themselves (see `messages.py`, kept fast on purpose), so FastAPI cannot
derive these schemas from their signatures: the models below only document, and `install` adds them
to the OpenAPI components. Unit tests check that what they describe is what `messages.py` accepts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict, models_json_schema

from services.common.problems import PROBLEM_JSON, ProblemDocument

from .messages import BATCH_MAX_MESSAGES, IDENTITY_MAX, MESSAGE_ID_MAX

_IDENTIFIED: JsonDict = {
    "anyOf": [
        {"required": ["userId"], "properties": {"userId": {"type": "string", "minLength": 1}}},
        {"required": ["anonymousId"], "properties": {"anonymousId": {"type": "string", "minLength": 1}}},
    ]
}
_Object = dict[str, Any] | None


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


class _Call(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra=_IDENTIFIED)

    userId: str | None = Field(
        None, max_length=IDENTITY_MAX, description="Your id of the user; userId or anonymousId is required"
    )
    anonymousId: str | None = Field(
        None, max_length=IDENTITY_MAX, description="A device or cookie id, until the user is known"
    )
    messageId: str | None = Field(
        None,
        min_length=1,
        max_length=MESSAGE_ID_MAX,
        description="Unique per message, generated if absent; the envelope id, so a retry is applied once",
    )
    timestamp: datetime | None = Field(
        None,
        description="When it happened, by the device's clock; before 1970 (LEADSTATE_MIN_EVENT_TIME) is "
        "refused, more than a day ahead of receivedAt (LEADSTATE_MAX_FUTURE_S) is replaced by receivedAt",
    )
    sentAt: datetime | None = Field(
        None,
        description="When the device sent it; the clock skew (receivedAt − sentAt) corrects timestamp when "
        "it is at most 3 days (LEADSTATE_MAX_CLOCK_SKEW_S), and is ignored otherwise",
    )
    context: _Object = Field(None, description="ip, userAgent, page, campaign, library, …")
    integrations: _Object = None
    writeKey: str | None = Field(None, description="The write key, when not sent as HTTP Basic username")


class Track(_Call):
    """An action the user performed, e.g. `Content Downloaded` or `Seminar Attended`."""

    type: Literal["track"] | None = None
    event: str = Field(min_length=1, description="The action's name")
    properties: _Object = None


class Identify(_Call):
    """Who the user is: links anonymousId to userId and records traits (email, company, title, …)."""

    type: Literal["identify"] | None = None
    traits: _Object = None


class Page(_Call):
    """A web page the user viewed."""

    type: Literal["page"] | None = None
    name: str | None = None
    category: str | None = None
    properties: _Object = Field(None, description="url, path, title, referrer, …")


class Screen(_Call):
    """An app screen the user viewed."""

    type: Literal["screen"] | None = None
    name: str | None = None
    category: str | None = None
    properties: _Object = None


class Group(_Call):
    """The account (company) the user belongs to."""

    type: Literal["group"] | None = None
    groupId: str = Field(min_length=1, max_length=IDENTITY_MAX)
    traits: _Object = None


class Alias(_Call):
    """Merges a previous id of the user into userId."""

    model_config = ConfigDict(extra="allow", json_schema_extra=None)

    type: Literal["alias"] | None = None
    userId: str = Field(min_length=1, max_length=IDENTITY_MAX)
    previousId: str = Field(min_length=1, max_length=IDENTITY_MAX)


MODELS: dict[str, type[BaseModel]] = {
    "track": Track,
    "identify": Identify,
    "page": Page,
    "screen": Screen,
    "group": Group,
    "alias": Alias,
}


def _batch_items(schema: dict[str, Any]) -> None:
    schema["properties"]["batch"] = {
        "type": "array",
        "minItems": 1,
        "maxItems": BATCH_MAX_MESSAGES,
        "items": {
            "anyOf": [_ref(m) for m in MODELS.values()],
            "required": ["type"],
            "properties": {"type": {"enum": list(MODELS)}},
        },
        "description": "The messages, each with its type; one bad message refuses the batch whole",
    }


class Batch(BaseModel):
    """Several calls in one request, each with its `type`; stored all or none."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_batch_items)

    batch: list[dict[str, Any]]
    sentAt: datetime | None = None
    context: _Object = Field(None, description="Merged into each message's context (the message's keys win)")
    integrations: _Object = None
    writeKey: str | None = None


class Success(BaseModel):
    success: Literal[True] = True


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    schema = {"schema": _ref(model)}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": schema, "text/plain": schema},
            "description": "JSON (analytics.js sends it as text/plain); may be gzip-encoded",
        },
        "security": [{"writeKeyBasic": []}, {}],
    }


def _problem(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": _ref(ProblemDocument)}},
    }
    if retry_after:
        answer["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
    return answer


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The broker acknowledged every message of the request (acks=all)",
        "content": {"application/json": {"schema": _ref(Success)}},
    },
    400: _problem(
        "Invalid JSON, content type or message (a NUL character in any string or key, an identity over "
        "255 characters, a timestamp before 1970 included); `errors` names each field (batch[i].field)"
    ),
    401: _problem("Missing or unknown write key"),
    413: _problem("Over 32 KB per message or 500 KB per request"),
    429: _problem("Over the write key's rate limit", retry_after=True),
    503: _problem(
        "The broker is unreachable or did not acknowledge in time; nothing acknowledged", retry_after=True
    ),
}


def install(app: FastAPI) -> None:
    """Add the documentation models to the app's OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        models: list[type[BaseModel]] = [*MODELS.values(), Batch, Success, ProblemDocument]
        _, defs = models_json_schema(
            [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
        )
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(defs["$defs"])
        components.setdefault("securitySchemes", {})["writeKeyBasic"] = {
            "type": "http",
            "scheme": "basic",
            "description": "The write key as username, empty password (as Segment's SDKs send it)",
        }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
