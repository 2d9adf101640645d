"""Sales decisions from lead.decisions move the stage; after a not-SQL decision only new activity opens a
new episode; a decision whose data breaks the contract goes to the dead-letter topic with the reason."""

from __future__ import annotations

from datetime import datetime

import jsonschema
import orjson
import pytest

from services.common.envelope import Envelope, new_envelope
from services.qualifier.mql import mql_id_for
from services.qualifier.stitching import lead_id_for
from tests.integration.qualifier.conftest import (
    DECISION_SCHEMA,
    Qualifier,
    assert_valid_mql,
    at,
    identify,
    seminar_attended,
)
from tests.support import read_topic

pytestmark = pytest.mark.asyncio(loop_scope="module")


def decision(lead_id: str, episode: int, outcome: str, decided_at: datetime, **override: object) -> Envelope:
    data = {
        "decision_id": f"dc-{lead_id}-{episode}",
        "lead_id": lead_id,
        "mql_id": mql_id_for(lead_id, episode),
        "episode": episode,
        "outcome": outcome,
        "reason": {"code": "no_timing", "label": "No project in the foreseeable future"},
        "note": None,
        "decided_by": "sales@example.test",
        "decided_at": decided_at.isoformat(),
        "policy_version": "2026.1",
        "rule": "seminar-attendee",
        "time_to_decision_s": 3600,
        **override,
    }
    return new_envelope(
        "leadstate.lead.decision.v1",
        data,
        source="handoff",
        subject=lead_id,
        time=decided_at,
        id_=data["decision_id"],
    )


async def test_rejected_lead_needs_new_activity_for_a_second_episode(shared_qualifier: Qualifier) -> None:
    q = shared_qualifier
    lead_id = lead_id_for("user:u-rej")
    await q.publish([identify(at(0), user="u-rej"), seminar_attended(at(60), user="u-rej")])
    [first] = await q.mqls(lead_id, expect=1)
    assert first.data["episode"] == 1

    rejected = decision(lead_id, 1, "rejected", at(120))
    jsonschema.validate(rejected.data, DECISION_SCHEMA)
    await q.publish([rejected], topic=q.topics.decisions)
    await q.wait_stored([rejected])
    lead = await q.lead(lead_id)
    assert (lead["stage"], lead["episode"]) == ("rejected", 1)

    # activity from before the decision (arriving late) is old news: no new episode
    late = seminar_attended(at(90), user="u-rej", messageId="late-seminar")
    await q.publish([late])
    await q.wait_stored([late])
    assert await q.registered(lead_id) == 1
    assert (await q.lead(lead_id))["stage"] == "rejected"

    # new qualifying activity after the decision: episode 2, a new MQL id
    await q.publish([seminar_attended(at(600), user="u-rej", messageId="new-seminar")])
    envelopes = await q.mqls(lead_id, expect=2)
    second = next(e for e in envelopes if e.data["episode"] == 2)
    assert_valid_mql(second)
    assert second.id == mql_id_for(lead_id, 2) != first.id
    evidence = {e["event_id"] for r in second.data["reasons"] for e in r["evidence"]}
    assert "new-seminar" in evidence and "late-seminar" not in evidence
    lead = await q.lead(lead_id)
    assert (lead["stage"], lead["episode"]) == ("mql", 2)


async def test_decision_for_a_stale_episode_changes_nothing(shared_qualifier: Qualifier) -> None:
    q = shared_qualifier
    lead_id = lead_id_for("user:u-sql")
    await q.publish([identify(at(0), user="u-sql"), seminar_attended(at(60), user="u-sql")])
    await q.mqls(lead_id, expect=1)
    stale, sql = decision(lead_id, 3, "rejected", at(100)), decision(lead_id, 1, "sql", at(120))
    await q.publish([stale, sql], topic=q.topics.decisions)
    await q.wait_stored([stale, sql])
    assert (await q.lead(lead_id))["stage"] == "sql"


async def test_decision_with_invalid_data_goes_to_dead_letter(shared_qualifier: Qualifier) -> None:
    q = shared_qualifier
    poison = decision(lead_id_for("user:u-poison"), 1, "maybe", at(10), decision_id="dc-poison")
    await q.publish([poison, b"{not an envelope"], topic=q.topics.decisions)

    letters = [orjson.loads(v) for v in await read_topic(q.bootstrap, q.topics.dead_letter, expect=2)]
    by_value = {d["value"]: d["reason"] for d in letters}
    assert "not JSON" in by_value["{not an envelope"]
    reason = next(r for v, r in by_value.items() if "dc-poison" in v)
    assert "outcome" in reason and "maybe" in reason
    assert await q.count("SELECT count(*) FROM qualifier.events WHERE event_id = 'dc-poison'") == 0
