"""The handoff's client of the qualifier's API against a real HTTP server that misbehaves on purpose:
a timeline read is retried through 5xx answers, gives up after its retries, never retries a POST that
reached the server, refuses an oversized answer, and a down qualifier on the handoff's API is a 503
problem with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import SecretStr
from starlette.responses import JSONResponse, Response

from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.handoff.qualifier_client import MAX_ANSWER_BYTES, QualifierClient, QualifierUnavailable
from testbed import free_port
from tests.conftest import API_KEY_ALL
from tests.support import serve_app

TIMELINE = {"lead_id": "l-1", "policy_version": "2026.1", "events": []}


@dataclass
class Flaky:
    """Answers `failures` 503s, then the real answer; counts every request it got."""

    failures: int = 0
    seen: list[str] = field(default_factory=list)


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[Flaky, str]]:
    state = Flaky()
    app = FastAPI()

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST"])
    async def anything(rest: str, request: Request) -> Response:
        state.seen.append(f"{request.method} /v1/{rest}")
        if rest == "leads/huge/timeline":
            return Response(b"x" * (MAX_ANSWER_BYTES + 1), media_type="application/json")
        if len(state.seen) <= state.failures:
            return JSONResponse({"detail": "busy"}, status_code=503)
        return JSONResponse(TIMELINE)

    async with serve_app(app) as url:
        yield state, url


def client_of(url: str, settings: Settings) -> QualifierClient:
    return QualifierClient(
        settings.model_copy(update={"qualifier_url": url, "qualifier_api_key": SecretStr("ak_x")})
    )


async def test_a_read_is_retried_through_5xx_answers(flaky: tuple[Flaky, str], settings: Settings) -> None:
    server, url = flaky
    server.failures = 2
    client = client_of(url, settings)
    try:
        timeline = await client.timeline("l-1")
        assert timeline is not None and timeline.policy_version == "2026.1"
        assert server.seen == ["GET /v1/leads/l-1/timeline"] * 3
        server.seen.clear()
        server.failures = 3  # more than the retries: given up, said why
        with pytest.raises(QualifierUnavailable, match="answered 503"):
            await client.timeline("l-1")
        assert len(server.seen) == 3
        with pytest.raises(QualifierUnavailable, match="too large"):
            await client.timeline("huge")
    finally:
        await client.close()


async def test_a_post_that_reached_the_qualifier_is_not_retried(
    flaky: tuple[Flaky, str], settings: Settings
) -> None:
    server, url = flaky
    server.failures = 1
    client = client_of(url, settings)
    try:
        with pytest.raises(QualifierUnavailable, match="answered 503"):
            await client.post_simulation(b"version: x", "application/yaml", "Bearer ak_x")
        assert server.seen == ["POST /v1/policy/simulations"]  # one job at most, never two
    finally:
        await client.close()


async def test_the_handoff_answers_503_with_retry_after_when_the_qualifier_is_down(
    settings: Settings,
) -> None:
    down = settings.model_copy(update={"qualifier_url": f"http://127.0.0.1:{free_port()}"})
    headers = {"Authorization": f"Bearer {API_KEY_ALL}"}
    async with (
        serve_app(create_handoff(down)) as url,
        httpx.AsyncClient(base_url=url, headers=headers) as api,
    ):
        for answer in (
            await api.post(
                "/v1/policy/simulations", content=b"version: x", headers={"Content-Type": "text/yaml"}
            ),
            await api.get("/v1/policy/simulations/sim_1"),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert int(answer.headers["retry-after"]) > 0
            assert "cannot connect to the qualifier" in answer.json()["detail"]
        # nothing was started, so nothing was audited
        audit = (await api.get("/v1/audit", params={"action": "simulation.started"})).json()
        assert audit["items"] == []
