"""The policy advisor over HTTP on the qualifier (which owns the history): POST what to look at, 202 +
Location, poll until done with the advice, the same advice the CLI prints; bad requests and a history
that cannot support advice answer at once saying what is missing; scopes as for simulations."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from services.qualifier.tables import jobs
from tests.conftest import API_KEY_NONE
from tests.integration.lab.conftest import LOOSE, Lab, Recorded
from tests.integration.lab.test_lab_simulate import leadstate
from tests.support import wait_until


async def test_post_then_poll_until_the_advice_the_cli_gives(recorded: Recorded, lab: Lab) -> None:
    answer = await lab.client.post("/v1/policy/suggestions", json={"min_decisions": 10})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    location = answer.headers["Location"]
    assert location == f"/v1/policy/suggestions/{job['suggestions_id']}"
    assert job["status"] in ("queued", "running") and job["advice"] is None
    assert job["baseline_version"] == "2025.9-loose" and job["min_decisions"] == 10 and job["rules"] == []

    async def finished() -> bool:
        polled = await lab.client.get(location)
        assert polled.status_code == 200, polled.text
        return polled.json()["status"] in ("done", "failed")

    await wait_until(finished, timeout_s=300, what="the advice to finish")
    done = (await lab.client.get(location)).json()
    assert done["status"] == "done", done["error"]
    advice = done["advice"]
    assert advice["applied"] is False and advice["suggestions"], advice["rules"]
    cli = leadstate(
        "suggest", "--policy", str(LOOSE), "--min-decisions", "10", "--format", "json",
        database_url=recorded.database_url,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert [s["sentence"] for s in advice["suggestions"]] == [s["sentence"] for s in printed["suggestions"]]
    assert [s["patch"] for s in advice["suggestions"]] == [s["patch"] for s in printed["suggestions"]]
    async with lab.app.state.qualifier.database.sessions() as session:
        kind = await session.scalar(select(jobs.c.kind).where(jobs.c.job_id == job["suggestions_id"]))
    assert kind == "suggestion"
    # a suggestion job is not a simulation, nor the other way round
    other = await lab.client.get(f"/v1/policy/simulations/{job['suggestions_id']}")
    assert other.status_code == 404


async def test_bad_requests_and_thin_history_say_what_is_missing(recorded: Recorded, lab: Lab) -> None:
    api = lab.client

    async def problem(body: object, status: int) -> dict:
        answer = await api.post("/v1/policy/suggestions", json=body)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        return answer.json()

    unknown = await problem({"rules": ["nope"]}, 422)
    assert unknown["errors"][0]["field"] == "rules" and "engaged-reader" in unknown["errors"][0]["message"]
    backwards = await problem({"since": "2026-10-01T00:00:00Z", "until": "2026-09-01T00:00:00Z"}, 422)
    assert backwards["errors"][0]["field"] == "until"
    for body, field in (
        ({"min_decisions": 0}, "min_decisions"),
        ({"min_decisions": 10**9}, "min_decisions"),
        ({"since": "2026-09-01T00:00:00"}, "since"),  # no offset: which day would it be?
        ({"rules": ["x"] * 201}, "rules"),
        ({"rules": ["x" * 201]}, "rules.0"),
        ({"surprise": 1}, "surprise"),
    ):
        assert (await problem(body, 422))["errors"][0]["field"] == field, body
    window = await problem({"since": "2030-01-01T00:00:00Z"}, 409)
    assert "no sales decisions recorded with an MQL between" in window["detail"]
    assert window["errors"][0]["field"] == "history"
    assert window["code"] == "no_decisions" and window["params"]["since"].startswith("2030-01-01T00:00:00")
    few = await problem({"min_decisions": 1_000_000}, 409)
    assert "fewer than the minimum of 1000000" in few["detail"]
    assert few["code"] == "too_few_decisions" and few["params"]["least"] == 1_000_000  # for other languages
    missing = await api.get("/v1/policy/suggestions/sug_nope")
    assert missing.status_code == 404
    async with httpx.AsyncClient(base_url=lab.url) as anonymous:
        assert (await anonymous.post("/v1/policy/suggestions", json={})).status_code == 401
        no_scope = {"Authorization": f"Bearer {API_KEY_NONE}"}
        assert (await anonymous.post("/v1/policy/suggestions", json={}, headers=no_scope)).status_code == 403


async def test_an_empty_history_is_a_conflict_not_an_empty_report(lab: Lab) -> None:
    answer = await lab.client.post("/v1/policy/suggestions")
    assert answer.status_code == 409 and "empty" in answer.json()["detail"]
    assert answer.json()["code"] == "empty_log"
