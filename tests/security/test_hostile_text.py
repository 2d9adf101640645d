"""Text no UTF-8 encoder accepts: JSON allows a lone surrogate escape ("\\udc00"), Python's json module
decodes it into a str, and orjson then refuses to encode that str. A refusal that names the client's
field must still be a problem document, never a 500 (found by schemathesis on POST /v1/policy/simulations)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from services.common.problems import problem_response
from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.qualifier.worker import create_app as create_qualifier
from tests.conftest import API_KEY_ALL
from tests.support import serve_app

LONE_SURROGATE = "\udc00"


def test_problem_response_survives_lone_surrogates() -> None:
    answer = problem_response(
        422,
        f"unknown field {LONE_SURROGATE!s}",
        errors=[{"field": f"x{LONE_SURROGATE}", "message": "unknown"}],
    )
    doc = orjson.loads(answer.body)
    assert answer.status_code == 422 and doc["errors"][0]["field"].startswith("x")
    assert doc["detail"].startswith("unknown field")


@pytest.fixture
async def handoff(settings: Settings) -> AsyncIterator[str]:
    """With the qualifier its policy lab forwards to: the candidate is parsed there."""
    async with serve_app(create_qualifier(settings)) as qualifier:
        async with serve_app(create_handoff(settings.model_copy(update={"qualifier_url": qualifier}))) as url:
            yield url


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        # the escapes are written by hand: no encoder produces them from a str
        (
            "/v1/leads/some-lead/decisions",
            "application/json",
            b'{"outcome": "sql", "reason": "problem_confirmed", "decided_by": "x", "\\udc00unknown": 1}',
        ),
        ("/v1/policy/simulations", "application/yaml", b'"\\udc00unknown": 1\nversion: "x"\n'),
    ],
)
async def test_a_field_name_with_a_lone_surrogate_is_refused_not_a_500(
    handoff: str, path: str, content_type: str, body: bytes
) -> None:
    async with httpx.AsyncClient(base_url=handoff) as client:
        answer = await client.post(
            path,
            content=body,
            headers={"Authorization": f"Bearer {API_KEY_ALL}", "Content-Type": content_type},
        )
    assert answer.status_code in (400, 404, 409, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"], answer.text


@pytest.mark.parametrize("parameter", ["topic", "rule"])
async def test_a_nul_character_in_an_inbox_filter_is_refused_not_a_500(handoff: str, parameter: str) -> None:
    async with httpx.AsyncClient(base_url=handoff) as client:
        answer = await client.get(
            "/v1/mqls", params={parameter: "a\x00b"}, headers={"Authorization": f"Bearer {API_KEY_ALL}"}
        )
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
