"""The closed loop the product exists for, through the three services as processes: tracked behaviour
becomes an explained MQL in the sales inbox; a sales decision with its reason flows back and moves the
lead's stage in the qualifier."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.common.db import connect
from tests.conftest import API_KEY_ALL, WRITE_KEY
from tests.support import ServiceProcess, free_port, wait_ready, wait_until

pytestmark = pytest.mark.e2e


def _messages(user_id: str, anonymous_id: str) -> list[dict]:
    start = datetime.now(UTC) - timedelta(hours=2)

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    return [
        {
            "type": "page",
            "anonymousId": anonymous_id,
            "name": "Pricing",
            "properties": {"path": "/pricing", "url": "https://example.test/pricing"},
            "timestamp": at(0),
        },
        {
            "type": "track",
            "anonymousId": anonymous_id,
            "event": "Content Downloaded",
            "properties": {
                "asset_id": "wp-lead-scoring",
                "topic": "lead-management",
                "title": "Lead scoring",
            },
            "timestamp": at(5),
        },
        {
            "type": "identify",
            "anonymousId": anonymous_id,
            "userId": user_id,
            "timestamp": at(10),
            "traits": {
                "email": f"{user_id}@example.test",
                "company": "Acme Manufacturing",
                "industry": "manufacturing",
                "title": "Marketing Manager",
                "company_size": 800,
            },
        },
        {
            "type": "track",
            "userId": user_id,
            "event": "Seminar Attended",
            "properties": {
                "seminar_id": "sem-ma-101",
                "topic": "marketing-automation",
                "title": "MA in practice",
            },
            "timestamp": at(30),
        },
    ]


async def test_behaviour_to_mql_to_decision_and_back(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    ports = {name: free_port() for name in ("ingest", "qualifier", "handoff")}
    env = {**env, **{f"LEADSTATE_{name.upper()}_PORT": str(port) for name, port in ports.items()}}
    services = [ServiceProcess(name, env, tmp_path).start() for name in ports]
    ingest, handoff = f"http://127.0.0.1:{ports['ingest']}", f"http://127.0.0.1:{ports['handoff']}"
    user_id, anonymous_id = f"u-{uuid.uuid4().hex[:8]}", f"a-{uuid.uuid4().hex[:8]}"
    auth = {"Authorization": f"Bearer {API_KEY_ALL}"}
    try:
        for port in ports.values():
            await wait_ready(f"http://127.0.0.1:{port}", timeout_s=60)
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(
                f"{ingest}/v1/batch", auth=(WRITE_KEY, ""), json={"batch": _messages(user_id, anonymous_id)}
            )
            assert answer.status_code == 200, answer.text

            async def inbox_item() -> dict | None:
                items = (await client.get(f"{handoff}/v1/mqls", headers=auth)).json()["items"]
                return next((i for i in items if i["identities"].get("user_id") == user_id), None)

            item = await wait_until(inbox_item, timeout_s=45, what="the MQL in the sales inbox")
            assert isinstance(item, dict)
            assert item["episode"] == 1 and item["next_checks"] and item["reasons"]
            evidence = [e for r in item["reasons"] for e in r["evidence"]]
            assert any(e.get("topic") for e in evidence)
            assert item["sla_state"] in ("ok", "due_soon", "breached")

            reasons = (await client.get(f"{handoff}/v1/reasons", headers=auth)).json()
            sql_code = reasons["sql"][0]["code"]
            decided = await client.post(
                f"{handoff}/v1/leads/{item['lead_id']}/decisions",
                headers=auth,
                json={
                    "outcome": "sql",
                    "reason": sql_code,
                    "note": "budget confirmed",
                    "decided_by": "sales@x",
                },
            )
            assert decided.status_code == 201, decided.text
            assert (await inbox_item()) is None  # decided MQLs leave the inbox

        conn = await connect(database_url)
        try:
            stage = await wait_until(
                lambda: conn.fetchval(
                    "SELECT stage FROM qualifier.leads WHERE lead_id = $1 AND stage = 'sql'", item["lead_id"]
                ),
                timeout_s=30,
                what="the qualifier's stage to become sql",
            )
            assert stage == "sql"
        finally:
            await conn.close()
    finally:
        codes = {s.command: s.stop(signal.SIGTERM) for s in services}
    assert set(codes.values()) == {0}, {s.command: s.log()[-1500:] for s in services}
