"""Hostile candidate policies posted to a real `leadstate qualifier` process (the lab's home; the handoff
forwards its callers there): each is refused with the reason and its line, the process's peak memory
(VmHWM in /proc) does not grow, and it goes on answering. Before the policy loader was bounded, the
458-byte alias document alone grew the service that parsed it to 23.7 GB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.common.policy.limits import MAX_DOCUMENT_BYTES
from tests.conftest import API_KEY_ALL
from tests.support import ServiceProcess, free_port, wait_ready
from tests.unit.common.policy.hostile import billion_laughs, many_rules, ten_megabytes

YAML = {"Content-Type": "application/yaml"}
GROWTH_ALLOWED_KB = 50 * 1024  # a few MB of ordinary request handling; the hostile documents took GBs


def peak_rss_kb(pid: int) -> int:
    """The process's high-water mark of resident memory: a spike that was freed again still shows."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
async def qualifier(
    env: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, ServiceProcess]]:
    port = free_port()
    service = ServiceProcess("qualifier", {**env, "LEADSTATE_QUALIFIER_PORT": str(port)}, tmp_path).start()
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_ready(url, timeout_s=60)
        headers = {"Authorization": f"Bearer {API_KEY_ALL}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            yield client, service
    finally:
        service.stop()


async def test_hostile_candidates_are_refused_and_the_service_is_unharmed(qualifier) -> None:  # type: ignore[no-untyped-def]
    client, service = qualifier
    assert service.process is not None
    pid = service.process.pid
    warm = await client.get("/v1/policy/simulations/sim_none")  # one ordinary request first: counted
    assert warm.status_code == 404, warm.text
    before = peak_rss_kb(pid)

    laughs = await client.post("/v1/policy/simulations", content=billion_laughs().encode(), headers=YAML)
    assert laughs.status_code == 422 and laughs.headers["content-type"].startswith("application/problem+json")
    (error,) = laughs.json()["errors"]
    assert error["field"] == "body.a0" and error["message"].startswith("line 2: anchors and aliases")

    big = await client.post("/v1/policy/simulations", content=ten_megabytes().encode(), headers=YAML)
    assert big.status_code == 413 and big.headers["content-type"].startswith("application/problem+json")
    assert big.json()["errors"] == [{"field": "body", "message": f"at most {MAX_DOCUMENT_BYTES} bytes"}]

    text = many_rules(10_000)
    rules = await client.post("/v1/policy/simulations", content=text.encode(), headers=YAML)
    assert rules.status_code == 422, rules.text
    (error,) = rules.json()["errors"]
    line = text.splitlines().index("rules:") + 1 + 201
    assert error["field"] == "body.rules" and error["message"] == (
        f"line {line}: more than 200 rules; at most 200 are allowed in one policy"
    )

    assert peak_rss_kb(pid) - before < GROWTH_ALLOWED_KB
    assert service.process.poll() is None
    after = await client.get("/v1/policy/simulations/sim_none")
    assert after.status_code == 404 and after.json()["detail"] == "no simulation 'sim_none'"
