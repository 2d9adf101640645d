"""One stored MQL the handoff cannot show never takes the inbox, the lead view or the funnel down: the
others are answered (200), the one it cannot show is logged and counted."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import orjson
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from tests.integration.handoff.data import mql_data, mql_envelope

FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
PLANT = (
    "INSERT INTO handoff.mqls (mql_id, event_id, lead_id, episode, rule, policy_version, qualified_at,"
    " data, topic, topics) VALUES (:mql_id, :event_id, :lead_id, 1, 'seminar-attendee', '2026.1',"
    " CAST(CAST(:qualified_at AS text) AS timestamptz), CAST(CAST(:data AS text) AS jsonb), 'x', ARRAY['x'])"
)


def skipped_rows(view: str) -> float:
    return REGISTRY.get_sample_value("leadstate_handoff_unrenderable_rows_total", {"view": view}) or 0.0


async def plant(engine, lead_id: str, qualified_at: str, data: dict) -> None:  # type: ignore[no-untyped-def]
    """Write an MQL row as no code path of the handoff would: straight into the table."""
    async with engine.begin() as conn:
        await conn.execute(
            text(PLANT),
            {
                "mql_id": f"{lead_id}:1",
                "event_id": str(uuid.uuid4()),
                "lead_id": lead_id,
                "qualified_at": qualified_at,
                "data": orjson.dumps(data).decode(),
            },
        )


async def test_an_mql_qualified_in_the_year_9999_keeps_the_inbox_answering(handoff) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls(
        [mql_envelope("lead-now"), mql_envelope("lead-9999", qualified_at=FAR_FUTURE)], expect_rows=2
    )
    for order in ("newest", "oldest"):
        answer = await handoff.client.get("/v1/mqls", params={"order": order})
        assert answer.status_code == 200, answer.text
        assert {i["lead_id"] for i in answer.json()["items"]} == {"lead-now", "lead-9999"}
    far = next(i for i in answer.json()["items"] if i["lead_id"] == "lead-9999")
    assert far["sla_state"] == "ok" and far["age_s"] == 0.0
    assert (await handoff.client.get("/v1/leads/lead-9999")).status_code == 200
    assert (await handoff.client.get("/v1/reports/funnel")).status_code == 200


@pytest.mark.parametrize(
    "qualified_at", ["infinity", "-infinity", "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z"]
)
async def test_an_extreme_stored_time_is_shown_not_a_500(handoff, qualified_at: str) -> None:  # type: ignore[no-untyped-def]
    await handoff.publish_mqls([mql_envelope("lead-ok")], expect_rows=1)
    await plant(handoff.app.state.handoff.database.engine, "lead-edge", qualified_at, mql_data("lead-edge"))
    answer = await handoff.client.get("/v1/mqls", params={"order": "newest"})
    assert answer.status_code == 200, answer.text
    assert {i["lead_id"] for i in answer.json()["items"]} == {"lead-ok", "lead-edge"}
    for sla in ("ok", "due_soon", "breached"):
        assert (await handoff.client.get("/v1/mqls", params={"sla": sla})).status_code == 200
    assert (await handoff.client.get("/v1/leads/lead-edge")).status_code == 200
    for group_by in ("rule", "policy_version", "topic", "reason"):
        answer = await handoff.client.get("/v1/reports/funnel", params={"group_by": group_by})
        assert answer.status_code == 200, answer.text
    assert answer.json()["total"]["mqls"] == 2


async def test_a_row_it_cannot_show_is_skipped_logged_and_counted(  # type: ignore[no-untyped-def]
    handoff, caplog: pytest.LogCaptureFixture
) -> None:
    await handoff.publish_mqls([mql_envelope("lead-ok")], expect_rows=1)
    broken = {**mql_data("lead-broken"), "reasons": "not a list", "identities": None}
    del broken["next_checks"]
    await plant(handoff.app.state.handoff.database.engine, "lead-broken", "2026-01-01T00:00:00Z", broken)
    before_inbox, before_lead = skipped_rows("inbox"), skipped_rows("lead")

    with caplog.at_level(logging.ERROR, logger="services.handoff"):
        inbox = await handoff.client.get("/v1/mqls")
        lead = await handoff.client.get("/v1/leads/lead-broken")
    assert inbox.status_code == 200, inbox.text
    assert [i["lead_id"] for i in inbox.json()["items"]] == ["lead-ok"]
    assert lead.status_code == 200, lead.text
    assert lead.json()["mqls"] == [] and lead.json()["lead_id"] == "lead-broken"
    assert skipped_rows("inbox") == before_inbox + 1 and skipped_rows("lead") == before_lead + 1
    assert "lead-broken:1" in caplog.text
    assert (await handoff.client.get("/v1/reports/funnel")).json()["total"]["mqls"] == 2

    metrics = (await handoff.client.get("/metrics")).text
    assert 'leadstate_handoff_unrenderable_rows_total{view="inbox"}' in metrics
