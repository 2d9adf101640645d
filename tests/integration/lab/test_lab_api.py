"""The policy lab over HTTP: the qualifier runs it (POST a candidate YAML, 202 + Location, poll until done
with the report; jobs in qualifier.jobs), and the handoff's routes of the same name forward to it with the
caller's key: invalid candidates, wrong media types, empty history, scopes and lost jobs answer the
same through either, and the handoff records who started a simulation in its audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert, select

from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.qualifier.tables import jobs
from tests.conftest import API_KEY_ALL, API_KEY_NONE
from tests.integration.lab.conftest import FOCUSED, LOOSE, SCORE_ONLY, Lab, Recorded
from tests.support import serve_app, wait_until

YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
async def handoff(settings: Settings, lab: Lab) -> AsyncIterator[httpx.AsyncClient]:
    """The handoff, its /v1/policy/simulations forwarding to the lab's qualifier."""
    app = create_handoff(settings.model_copy(update={"policy_path": LOOSE, "qualifier_url": lab.url}))
    headers = {"Authorization": f"Bearer {API_KEY_ALL}"}
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        yield client


async def test_post_then_poll_until_the_report(
    recorded: Recorded, lab: Lab, handoff: httpx.AsyncClient
) -> None:
    answer = await handoff.post("/v1/policy/simulations", content=FOCUSED.read_bytes(), headers=YAML)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["Location"] == f"/v1/policy/simulations/{job['simulation_id']}"
    assert job["status"] in ("queued", "running") and job["candidate_version"] == "2026.1"
    assert job["baseline_version"] == "2025.9-loose" and job["report"] is None

    async def finished() -> bool:
        polled = await handoff.get(answer.headers["Location"])
        assert polled.status_code == 200, polled.text
        return polled.json()["status"] in ("done", "failed")

    await wait_until(finished, timeout_s=120, what="the simulation to finish")
    done = (await handoff.get(answer.headers["Location"])).json()
    assert done["status"] == "done", done["error"]
    report = done["report"]
    assert report["candidate_version"] == "2026.1" and report["history"]["decided_mqls"] > 50
    assert report["rejections"]["no_longer_sent"] > 0 and report["sql_rate"]["candidate"]["rate"] is not None
    # the same job on the qualifier's own API, stored in its schema; the handoff audited who started it
    assert (await lab.client.get(answer.headers["Location"])).json() == done
    async with lab.app.state.qualifier.database.sessions() as session:
        kind = await session.scalar(select(jobs.c.kind).where(jobs.c.job_id == job["simulation_id"]))
    assert kind == "simulation"
    audit = (await handoff.get("/v1/audit", params={"action": "simulation.started"})).json()["items"]
    started = [(e["subject"], e["detail"]["candidate_version"]) for e in audit]
    assert started == [(job["simulation_id"], "2026.1")]


async def test_the_baseline_is_the_policy_the_qualifier_runs(
    recorded: Recorded, settings: Settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The policy file is read once at start-up: editing it later changes neither the running service nor
    a simulation's baseline (a baseline re-read on every POST could differ from the live policy)."""
    from services.qualifier.worker import create_app as create_qualifier

    path = tmp_path / "policy.yaml"
    path.write_bytes(LOOSE.read_bytes())
    app = create_qualifier(settings.model_copy(update={"policy_path": path}))
    path.write_bytes(FOCUSED.read_bytes())  # edited after start-up: not what the service runs
    headers = {"Authorization": f"Bearer {API_KEY_ALL}"}
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        answer = await client.post("/v1/policy/simulations", content=FOCUSED.read_bytes(), headers=YAML)
        assert answer.status_code == 202, answer.text
        assert answer.json()["baseline_version"] == "2025.9-loose"


async def test_invalid_candidate_is_422_naming_the_rule(handoff: httpx.AsyncClient) -> None:
    answer = await handoff.post(
        "/v1/policy/simulations", content=SCORE_ONLY.read_bytes(), headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")
    errors = answer.json()["errors"]
    assert any("'hot-score'" in e["message"] and e["field"].startswith("body.rules[3]") for e in errors), (
        errors
    )
    broken = await handoff.post("/v1/policy/simulations", content=b"version: [unclosed", headers=YAML)
    assert broken.status_code == 422 and broken.json()["errors"]


async def test_bad_requests(lab: Lab, handoff: httpx.AsyncClient) -> None:
    for client in (handoff, lab.client):  # the handoff passes the qualifier's answers on as they are
        as_json = await client.post("/v1/policy/simulations", json={"version": "x"})
        assert as_json.status_code == 415 and as_json.json()["errors"][0]["field"] == "body"
        assert as_json.headers["content-type"] == "application/problem+json"
        empty = await client.post("/v1/policy/simulations", content=b"  ", headers=YAML)
        assert empty.status_code == 422
        unknown = await client.get("/v1/policy/simulations/sim_nope")
        assert unknown.status_code == 404
        no_scope = await client.post(
            "/v1/policy/simulations",
            content=FOCUSED.read_bytes(),
            headers={**YAML, "Authorization": f"Bearer {API_KEY_NONE}"},
        )
        assert no_scope.status_code == 403


async def test_empty_history_is_409(handoff: httpx.AsyncClient) -> None:
    answer = await handoff.post("/v1/policy/simulations", content=FOCUSED.read_bytes(), headers=YAML)
    assert answer.status_code == 409 and "empty" in answer.json()["detail"]


async def test_a_job_whose_process_died_reads_as_failed(lab: Lab, handoff: httpx.AsyncClient) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    async with lab.app.state.qualifier.database.sessions() as session, session.begin():
        await session.execute(
            insert(jobs).values(
                job_id="sim_lost",
                kind="simulation",
                status="running",
                params={"candidate_version": "x", "baseline_version": "y", "candidate": "version: x"},
                requested_by="someone",
                created_at=long_ago,
                heartbeat_at=long_ago,
            )
        )
    job = (await handoff.get("/v1/policy/simulations/sim_lost")).json()
    assert job["status"] == "failed" and "interrupted" in job["error"]


async def test_the_recent_simulations_newest_first(lab: Lab) -> None:
    """GET /v1/policy/simulations on the qualifier (what the console's policy page lists): simulations
    only, newest first, at most `limit`, a lost one read as failed as when polled."""
    now = datetime.now(UTC)
    rows = [
        ("sim_old", "simulation", "done", now - timedelta(hours=3), now),
        ("sim_lost", "simulation", "running", now - timedelta(hours=2), now - timedelta(hours=2)),
        ("sug_other", "suggestion", "done", now - timedelta(hours=1), now),
        ("sim_new", "simulation", "queued", now - timedelta(minutes=1), now),
    ]
    params = {"candidate_version": "c", "baseline_version": "b", "candidate": "version: c"}
    async with lab.app.state.qualifier.database.sessions() as session, session.begin():
        for job_id, kind, status, created, beat in rows:
            await session.execute(
                insert(jobs).values(
                    job_id=job_id,
                    kind=kind,
                    status=status,
                    params=params,
                    requested_by="someone",
                    created_at=created,
                    heartbeat_at=beat,
                )
            )
    listed = (await lab.client.get("/v1/policy/simulations")).json()["simulations"]
    assert [(s["simulation_id"], s["status"]) for s in listed] == [
        ("sim_new", "queued"),
        ("sim_lost", "failed"),
        ("sim_old", "done"),
    ]
    assert "interrupted" in listed[1]["error"] and listed[0]["candidate_version"] == "c"
    two = (await lab.client.get("/v1/policy/simulations", params={"limit": 2})).json()["simulations"]
    assert [s["simulation_id"] for s in two] == ["sim_new", "sim_lost"]
    for limit in ("0", "51", "x"):
        refused = await lab.client.get("/v1/policy/simulations", params={"limit": limit})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"].endswith("limit"), limit
    no_scope = await lab.client.get(
        "/v1/policy/simulations", headers={"Authorization": f"Bearer {API_KEY_NONE}"}
    )
    assert no_scope.status_code == 403
