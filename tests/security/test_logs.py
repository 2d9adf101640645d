"""What the service processes log at INFO holds no key, no personal data and no event body: a run with
identify traits carrying an email and a name, bodies carrying a marker, wrong keys, a dead-lettered
decision whose data holds an email, then the three processes' logs are searched."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from services.common.envelope import new_envelope
from tests.chaos.harness import Stack, connect
from tests.conftest import API_KEY_ALL, WRITE_KEY, Topics
from tests.support import publish, read_topic, wait_until

pytestmark = pytest.mark.e2e


async def test_logs_hold_no_keys_personal_data_or_bodies(
    env: dict[str, str], database_url: str, kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:10]
    email, name, marker = f"mika.tanaka.{tag}@example.test", f"Mikatanaka{tag}", f"BODYMARKER{tag}"
    wrong_write_key, wrong_api_key = f"wk_leak_{tag}", f"ak_leak_{tag}"
    stack = Stack({**env, "LEADSTATE_LOG_LEVEL": "INFO"}, tmp_path)
    messages = [
        {
            "type": "identify",
            "userId": f"user-{tag}",
            "messageId": f"id-{tag}",
            "traits": {"email": email, "first_name": name, "title": "Marketing Manager"},
        },
        {
            "type": "track",
            "userId": f"user-{tag}",
            "messageId": f"tr-{tag}",
            "event": "Content Downloaded",
            "properties": {"asset_id": marker, "note": marker},
        },
    ]
    try:
        await stack.start()
        async with httpx.AsyncClient(timeout=30) as client:
            ingest, handoff = stack.url("ingest"), stack.url("handoff")
            stored = await client.post(f"{ingest}/v1/batch", auth=(WRITE_KEY, ""), json={"batch": messages})
            assert stored.status_code == 200, stored.text
            refused = await client.post(
                f"{ingest}/v1/batch", auth=(wrong_write_key, ""), json={"batch": messages}
            )
            assert refused.status_code == 401
            bad = await client.post(
                f"{ingest}/v1/track", auth=(WRITE_KEY, ""), json={"traits": {"email": email}}
            )
            assert bad.status_code == 400
            for key in (API_KEY_ALL, wrong_api_key):
                await client.get(f"{handoff}/v1/mqls", headers={"Authorization": f"Bearer {key}"})
                await client.get(f"{handoff}/v1/leads/{email}", headers={"Authorization": f"Bearer {key}"})
        # a decision whose data breaks its contract, with personal data in it: dead-lettered, and logged
        broken = new_envelope(
            "leadstate.lead.decision.v1",
            {"lead_id": f"ld_{tag}", "outcome": "sql", "episode": "first", "decided_by": {"email": email}},
            source="handoff",
            subject=f"ld_{tag}",
            time=datetime.now(UTC),
        )
        await publish(kafka_bootstrap, topics.decisions, [broken])
        db = await connect(database_url)
        try:
            await wait_until(
                lambda: db.fetchval(
                    "SELECT count(*) = 2 FROM qualifier.events WHERE event_id LIKE $1", f"%-{tag}"
                ),
                timeout_s=60,
                what="the qualifier to store both events",
            )
        finally:
            await db.close()
        await read_topic(kafka_bootstrap, topics.dead_letter, expect=1)
    finally:
        codes = stack.stop()  # SIGTERM: the shutdown is logged too
    assert set(codes.values()) == {0}
    secrets = {
        "write key": WRITE_KEY,
        "wrong write key": wrong_write_key,
        "API key": API_KEY_ALL,
        "wrong API key": wrong_api_key,
        "email": email,
        "name": name,
        "event body": marker,
    }
    for service, process in stack.processes.items():
        log = process.log_path.read_text(errors="replace")
        assert log.strip(), f"{service} logged nothing"
        leaks = {what: line for what, value in secrets.items() for line in log.splitlines() if value in line}
        assert not leaks, f"{service} logs {sorted(leaks)}: {list(leaks.values())[:3]}"
