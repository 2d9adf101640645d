"""Poison messages on every consumed topic (lead.events and lead.decisions for the qualifier, lead.mql for
the handoff): bytes that are not JSON, JSON that is not an envelope, an envelope of an unknown type. Each
goes to the dead-letter topic with its reason, topic and offset; the consumer goes on with the valid
messages behind them; `leadstate_dead_letters_total` counts them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.common.envelope import new_envelope
from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.qualifier.worker import create_app as create_qualifier
from tests.chaos.audit import SUMMARY
from tests.chaos.harness import connect, read_all
from tests.conftest import API_KEY_ALL, Topics
from tests.integration.handoff.data import POLICY, mql_envelope
from tests.support import publish, serve_app, wait_until

pytestmark = pytest.mark.chaos

POISON = [
    (b"\xff{not json", "not JSON"),
    (b'{"hello": "a JSON object, not an envelope"}', "not a CloudEvents envelope"),
    (
        new_envelope(
            "leadstate.unknown.v9", {"x": 1}, source="chaos", subject="poison", time=datetime.now(UTC)
        ).to_bytes(),
        "unknown event type 'leadstate.unknown.v9'",
    ),
]


def _dead_letter_counts(metrics: str) -> dict[tuple[str, str], float]:
    return {
        (s.labels["consumer"], s.labels["topic"]): s.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "leadstate_dead_letters"
        for s in family.samples
        if s.name == "leadstate_dead_letters_total"
    }


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[tuple[str, str]]:
    qualifier = create_qualifier(settings)
    handoff = create_handoff(settings.model_copy(update={"policy_path": POLICY}))
    async with serve_app(qualifier) as qualifier_url, serve_app(handoff) as handoff_url:
        yield qualifier_url, handoff_url


async def test_poison_goes_to_dead_letters_and_processing_continues(
    services: tuple[str, str], kafka_bootstrap: str, topics: Topics, database_url: str
) -> None:
    qualifier_url, handoff_url = services
    now = datetime.now(UTC)
    track = new_envelope(
        "leadstate.track.v1",
        {"type": "track", "userId": "after-poison", "event": "Page Seen", "timestamp": now.isoformat()},
        source="ingest",
        subject="after-poison",
        time=now,
        id_="after-poison-1",
    )
    mql = mql_envelope("after-poison-lead")
    for topic in (topics.events, topics.decisions, topics.mql):
        await publish(kafka_bootstrap, topic, [raw for raw, _ in POISON], raw_key=b"poison")
    await publish(kafka_bootstrap, topics.events, [track])
    await publish(kafka_bootstrap, topics.mql, [mql])

    db = await connect(database_url)
    try:
        # the valid messages behind the poison are applied
        await wait_until(
            lambda: db.fetchval("SELECT 1 FROM qualifier.events WHERE event_id = 'after-poison-1'"),
            timeout_s=60,
            what="the qualifier to apply the event after the poison",
        )
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {API_KEY_ALL}"}) as client:
            lead = await wait_until(
                lambda: _lead(client, handoff_url, "after-poison-lead"),
                timeout_s=60,
                what="the handoff to project the MQL after the poison",
            )
            assert lead["mqls"][0]["mql_id"] == mql.data["mql_id"]  # type: ignore[index]

            dead = [orjson.loads(v) for _, v in await read_all(kafka_bootstrap, topics.dead_letter)]
            assert len(dead) == 9, dead
            owners = {topics.events: "qualifier", topics.decisions: "qualifier", topics.mql: "handoff"}
            for topic, consumer in owners.items():
                mine = sorted((d for d in dead if d["topic"] == topic), key=lambda d: d["offset"])
                assert [d["offset"] for d in mine] == [0, 1, 2], mine  # the poison is all its partition holds
                for doc, (raw, reason) in zip(mine, POISON, strict=True):
                    assert reason in doc["reason"], doc
                    assert doc["consumer"] == consumer and doc["key"] == "poison"
                    assert doc["value"] == raw.decode(errors="replace")

            counted = {
                **_dead_letter_counts((await client.get(f"{qualifier_url}/metrics")).text),
                **_dead_letter_counts((await client.get(f"{handoff_url}/metrics")).text),
            }
            # one process here runs both services: the default registry holds both consumers' counts
            assert counted[("qualifier", topics.events)] == 3
            assert counted[("qualifier", topics.decisions)] == 3
            assert counted[("handoff", topics.mql)] == 3
            assert (await client.get(f"{qualifier_url}/readyz")).status_code == 200
            assert (await client.get(f"{handoff_url}/readyz")).status_code == 200
    finally:
        await db.close()
    SUMMARY["poison messages dead-lettered"] += len(dead)


async def _lead(client: httpx.AsyncClient, base_url: str, lead_id: str) -> dict | None:
    answer = await client.get(f"{base_url}/v1/leads/{lead_id}")
    return answer.json() if answer.status_code == 200 else None
