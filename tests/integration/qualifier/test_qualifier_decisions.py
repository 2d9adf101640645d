"""Sales decisions from lead.decisions move the stage; after a not-SQL decision only new activity opens a
new episode; a decision whose data breaks the contract goes to the dead-letter topic with the reason."""

from __future__ import annotations

from datetime import datetime

import jsonschema
import orjson

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
from tests.support import read_envelopes, read_topic


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


async def test_rejected_lead_needs_new_activity_for_a_second_episode(qualifier: Qualifier) -> None:
    lead_id = lead_id_for("user:u-rej")
    await qualifier.publish([identify(at(0), user="u-rej"), seminar_attended(at(60), user="u-rej")])
    [first] = await read_envelopes(qualifier.bootstrap, qualifier.topics.mql, expect=1)
    assert first.data["episode"] == 1

    rejected = decision(lead_id, 1, "rejected", at(120))
    jsonschema.validate(rejected.data, DECISION_SCHEMA)
    await qualifier.publish([rejected], topic=qualifier.topics.decisions)
    await qualifier.wait_stored(3)
    lead = await qualifier.lead(lead_id)
    assert (lead["stage"], lead["episode"]) == ("rejected", 1)

    # activity from before the decision (arriving late) is old news: no new episode
    await qualifier.publish([seminar_attended(at(90), user="u-rej", messageId="late-seminar")])
    await qualifier.wait_stored(4)
    assert await qualifier.count("SELECT count(*) FROM qualifier.mqls") == 1
    assert (await qualifier.lead(lead_id))["stage"] == "rejected"

    # new qualifying activity after the decision: episode 2, a new MQL id
    await qualifier.publish([seminar_attended(at(600), user="u-rej", messageId="new-seminar")])
    envelopes = await read_envelopes(qualifier.bootstrap, qualifier.topics.mql, expect=2)
    second = next(e for e in envelopes if e.data["episode"] == 2)
    assert_valid_mql(second)
    assert second.id == mql_id_for(lead_id, 2) != first.id
    evidence = {e["event_id"] for r in second.data["reasons"] for e in r["evidence"]}
    assert "new-seminar" in evidence and "late-seminar" not in evidence
    lead = await qualifier.lead(lead_id)
    assert (lead["stage"], lead["episode"]) == ("mql", 2)


async def test_sql_decision_for_a_stale_episode_changes_nothing(qualifier: Qualifier) -> None:
    lead_id = lead_id_for("user:u-sql")
    await qualifier.publish([identify(at(0), user="u-sql"), seminar_attended(at(60), user="u-sql")])
    await read_envelopes(qualifier.bootstrap, qualifier.topics.mql, expect=1)
    await qualifier.publish(
        [decision(lead_id, 3, "rejected", at(100)), decision(lead_id, 1, "sql", at(120))],
        topic=qualifier.topics.decisions,
    )
    await qualifier.wait_stored(4)
    assert (await qualifier.lead(lead_id))["stage"] == "sql"


async def test_decision_with_invalid_data_goes_to_dead_letter(qualifier: Qualifier) -> None:
    poison = decision(lead_id_for("user:u-poison"), 1, "maybe", at(10), decision_id="dc-poison")
    not_json = b"{not an envelope"
    await qualifier.publish([poison, not_json], topic=qualifier.topics.decisions)

    letters = [
        orjson.loads(v) for v in await read_topic(qualifier.bootstrap, qualifier.topics.dead_letter, expect=2)
    ]
    reasons = {
        orjson.loads(d["value"]).get("id") if d["value"].startswith('{"') else "raw": d["reason"]
        for d in letters
    }
    assert "outcome" in reasons["dc-poison"] and "maybe" in reasons["dc-poison"]
    assert "not JSON" in reasons["raw"]
    assert await qualifier.count("SELECT count(*) FROM qualifier.events") == 0
