"""Nobody without a key reads or writes: every handoff and qualifier operation (read from the running
app's OpenAPI, so a new endpoint is covered the day it is added) refuses no key, an unknown key and a key
without its scope, before looking at the request; every ingest operation refuses a missing or unknown
write key."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.ingest.app import create_app as create_ingest
from services.qualifier.worker import create_app as create_qualifier
from tests.conftest import API_KEY_NONE, API_KEY_READ, WRITE_KEY
from tests.support import serve_app

OPEN = {"/healthz", "/readyz", "/metrics"}
SCOPES = {"mql:read", "decisions:write", "reports:read", "webhooks:admin", "audit:read"}


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path with every path parameter filled) of each operation that needs a key."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path in OPEN:
            continue
        for method in operations:
            filled = path
            for parameter in operations[method].get("parameters", []):
                if parameter["in"] == "path":
                    filled = filled.replace("{" + parameter["name"] + "}", "some-id")
            found.append((method.upper(), filled))
    return found


@pytest.fixture
async def handoff(settings: Settings) -> AsyncIterator[tuple[FastAPI, str]]:
    app = create_handoff(settings)
    async with serve_app(app) as url:
        yield app, url


@pytest.fixture
async def qualifier(settings: Settings) -> AsyncIterator[tuple[FastAPI, str]]:
    app = create_qualifier(settings)
    async with serve_app(app) as url:
        yield app, url


@pytest.fixture
async def ingest(settings: Settings) -> AsyncIterator[tuple[FastAPI, str]]:
    app = create_ingest(settings)
    async with serve_app(app) as url:
        yield app, url


def _assert_problem(answer: httpx.Response, status: int, what: str) -> None:
    assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text[:300]}"
    assert answer.headers["content-type"] == "application/problem+json", what


async def _refusals(client: httpx.AsyncClient, operations: list[tuple[str, str]]) -> None:
    """Each operation refuses no key, unknown keys and a key without its scope, exactly the same way."""
    for method, path in operations:
        # an empty body: the key is checked before the request is, so refusals say nothing about it
        body = {"json": {}} if method == "POST" else {}
        for headers, status, who in (
            ({}, 401, "no key"),
            ({"Authorization": "Bearer ak_unknown"}, 401, "unknown key"),
            ({"Authorization": "Basic " + base64.b64encode(b"x:y").decode()}, 401, "not a bearer"),
            ({"Authorization": f"Bearer {API_KEY_NONE}x"}, 401, "a valid key plus one character"),
            ({"Authorization": f"Bearer {API_KEY_NONE[:-1]}"}, 401, "a valid key's prefix"),
            ({"Authorization": f"Bearer {API_KEY_NONE}"}, 403, "a key with no scope"),
        ):
            answer = await client.request(method, path, headers=headers, **body)
            _assert_problem(answer, status, f"{method} {path} with {who}")
            if status == 401:
                assert answer.headers["www-authenticate"].startswith("Bearer"), f"{method} {path}"
            else:  # the refusal names the scope the operation needs
                assert answer.json()["required_scope"] in SCOPES, f"{method} {path}: {answer.text}"


async def test_every_handoff_operation_refuses_callers_without_the_key_or_scope(
    handoff: tuple[FastAPI, str],
) -> None:
    app, url = handoff
    operations = _operations(app)
    assert ("POST", "/v1/leads/some-id/decisions") in operations and len(operations) >= 5
    assert ("POST", "/v1/policy/simulations") in operations  # the lab's routes are keyed too
    async with httpx.AsyncClient(base_url=url) as client:
        await _refusals(client, operations)
        decide = await client.post(
            "/v1/leads/some-id/decisions",
            headers={"Authorization": f"Bearer {API_KEY_READ}"},
            json={"outcome": "sql", "reason": "problem_confirmed", "decided_by": "reader"},
        )
        _assert_problem(decide, 403, "a decision with a read-only key")
        assert decide.json()["required_scope"] == "decisions:write"
        # and the same read-only key does read: the refusals above were about the scope only
        allowed = await client.get("/v1/mqls", headers={"Authorization": f"Bearer {API_KEY_READ}"})
        assert allowed.status_code == 200, allowed.text


async def test_every_qualifier_operation_refuses_callers_as_the_handoff_does(
    qualifier: tuple[FastAPI, str],
) -> None:
    app, url = qualifier
    operations = _operations(app)
    assert ("GET", "/v1/leads/some-id/timeline") in operations
    assert ("POST", "/v1/policy/simulations") in operations
    assert ("POST", "/v1/policy/suggestions") in operations  # the advisor's jobs too
    async with httpx.AsyncClient(base_url=url) as client:
        await _refusals(client, operations)
        read = {"Authorization": f"Bearer {API_KEY_READ}"}
        # the same read-only key gets through to the route: the refusals above were about the key only
        allowed = await client.get("/v1/leads/some-id/timeline", headers=read)
        assert allowed.status_code == 404, allowed.text


async def test_every_ingest_operation_refuses_a_wrong_write_key(ingest: tuple[FastAPI, str]) -> None:
    app, url = ingest
    operations = _operations(app)
    assert ("POST", "/v1/batch") in operations and len(operations) >= 7
    message = {"type": "track", "userId": "u-1", "event": "Page Seen", "messageId": "refused"}
    async with httpx.AsyncClient(base_url=url) as client:
        for method, path in operations:
            body = {"batch": [message]} if path.endswith("batch") else message
            for auth, extra, who in (
                (None, {}, "no key"),
                (("wk_wrong", ""), {}, "an unknown write key"),
                ((WRITE_KEY + "x", ""), {}, "a valid key plus one character"),
                ((WRITE_KEY[:-1], ""), {}, "a valid key's prefix"),
                (None, {"writeKey": "wk_wrong"}, "an unknown writeKey in the body"),
            ):
                answer = await client.request(method, path, auth=auth, json={**body, **extra})
                _assert_problem(answer, 401, f"{method} {path} with {who}")
        # the same request with the right key is stored: the refusals above were about the key only
        accepted = await client.post("/v1/track", auth=(WRITE_KEY, ""), json=message)
        assert accepted.status_code == 200, accepted.text
