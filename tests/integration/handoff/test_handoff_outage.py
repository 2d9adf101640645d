"""With its database unreachable the handoff answers 503 with Retry-After, never a 500."""

from __future__ import annotations

from pathlib import Path

import httpx

from services.common.settings import Settings
from services.handoff.app import create_app
from tests.conftest import API_KEY_ALL
from tests.integration.handoff.data import POLICY
from tests.support import free_port, serve_app


async def test_database_down_is_503_not_500(settings: Settings) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/leadstate"  # nothing listens there
    app = create_app(settings.model_copy(update={"policy_path": POLICY, "database_url": nowhere}))
    auth = {"Authorization": f"Bearer {API_KEY_ALL}"}
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, headers=auth, timeout=30) as client:
        decision = {"outcome": "sql", "reason": "problem_confirmed", "decided_by": "rep-1"}
        answers = [
            await client.get("/v1/mqls"),
            await client.get("/v1/leads/lead-1"),
            await client.post("/v1/leads/lead-1/decisions", json=decision),
            await client.get("/v1/reports/funnel"),
        ]
        ready = await client.get("/readyz")

    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "5"
    assert ready.status_code == 503


async def test_another_os_error_is_a_fault_not_an_outage(settings: Settings, tmp_path: Path) -> None:
    """A policy file gone missing, or a timeout that is not the database's, is not to be retried as an
    outage: 500 problem+json, without Retry-After."""
    app = create_app(settings.model_copy(update={"policy_path": POLICY}))

    async def missing_file() -> None:
        (tmp_path / "gone.yaml").read_text()

    async def other_timeout() -> None:
        raise TimeoutError("a call that is not the database's")

    app.add_api_route("/test/missing-file", missing_file)
    app.add_api_route("/test/other-timeout", other_timeout)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        answers = [await client.get("/test/missing-file"), await client.get("/test/other-timeout")]

    for answer in answers:
        assert answer.status_code == 500, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "retry-after" not in answer.headers and "database" not in answer.text
