"""Simulations over the qualifier's HTTP API run in a limited worker process: one over its time or memory
limit ends `failed` with the reason, the service goes on, and the job queued behind it completes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.common.settings import Settings
from tests.integration.lab.conftest import FOCUSED, Lab, Recorded
from tests.support import wait_until

YAML = {"Content-Type": "application/yaml"}
# Far below what a worker needs: its interpreter alone holds more address space once it has started.
TINY_MEMORY_MB = 32
# Far below what a worker takes to start: spawning the interpreter and importing the lab alone is longer.
TINY_TIMEOUT_S = 0.05


def limit_next_jobs(app: FastAPI, **limits: Any) -> None:
    """A job takes its limits from the settings when it is posted: set them for the next posts."""
    state = app.state.qualifier
    app.state.qualifier = replace(state, settings=state.settings.model_copy(update=limits))


async def post(client: httpx.AsyncClient) -> str:
    answer = await client.post("/v1/policy/simulations", content=FOCUSED.read_bytes(), headers=YAML)
    assert answer.status_code == 202, answer.text
    return str(answer.headers["Location"])


async def finished(client: httpx.AsyncClient, location: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        job = (await client.get(location)).json()
        return job if job["status"] in ("done", "failed") else None

    return await wait_until(done, timeout_s=180, what=f"{location} to finish")  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        ({"simulation_timeout_s": TINY_TIMEOUT_S}, f"exceeded {TINY_TIMEOUT_S:g} s"),
        ({"simulation_memory_mb": TINY_MEMORY_MB}, f"exceeded {TINY_MEMORY_MB} MB of memory"),
    ],
    ids=["time", "memory"],
)
async def test_a_job_over_its_limit_fails_with_the_reason_and_the_next_completes(
    recorded: Recorded, lab: Lab, limits: dict[str, Any], reason: str
) -> None:
    client, app = lab.client, lab.app
    normal = {name: Settings.model_fields[name].default for name in limits}
    limit_next_jobs(app, **limits)
    over = await post(client)
    limit_next_jobs(app, **normal)
    queued = await post(client)  # waits behind the first: one simulation at a time

    failed = await finished(client, over)
    # a child that crashes on a failed allocation under its memory cap says so after the reason
    assert failed["status"] == "failed" and failed["error"].startswith(reason), failed
    assert failed["report"] is None and failed["finished_at"] is not None
    assert (await client.get("/readyz")).status_code == 200  # the service itself is unharmed

    completed = await finished(client, queued)
    assert completed["status"] == "done", completed["error"]
    assert completed["report"]["history"]["decided_mqls"] > 50
