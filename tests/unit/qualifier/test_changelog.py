"""The lead-state changelog rule (services/qualifier/changelog.py) on folded logs, without IO: what is
published, what is held back, and that batch boundaries never change the answer (replay agrees)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema

from services.common.envelope import parse_envelope
from services.common.policy import Policy
from services.qualifier.changelog import UPDATED_TYPE, Changelog
from services.qualifier.stitching import DecisionRecord, Entry, Ledger, activity_from_message, lead_id_for

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "contracts/events/lead.updated.v1.schema.json").read_text())
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LEAD = lead_id_for("user:u1")


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def entry(n: int, at: float, kind: str, **body: object) -> Entry:
    message = {"type": kind, "userId": "u1", **body}
    return activity_from_message(f"e{n}", message, minutes(at))


def script() -> list[Entry]:
    traits = {"email": "u1@example.test", "title": "Marketing Manager", "industry": "manufacturing"}
    return [
        entry(1, 0, "identify", traits=traits),  # first view: published
        entry(2, 1, "page", properties={"path": "/blog/a"}),  # score inside its band: nothing
        # warm, a top interest, but 2 minutes after the last update: held back
        entry(3, 2, "track", event="Content Downloaded", properties={"asset_id": "guide-crm-integration"}),
        # 12 minutes: e3's change fell due at 10 (the interval's end) and is published as of then, first
        entry(4, 12, "page", properties={"path": "/blog/b"}),
        entry(5, 13, "track", event="Seminar Attended", properties={"seminar_id": "sem-mql-design"}),  # MQL
        DecisionRecord(event_id="d1", lead_id=LEAD, outcome="sql", episode=1, time=minutes(14)),
    ]


def fold(policy: Policy, entries: list[Entry], batches: list[list[Entry]]) -> list[dict]:
    """Fold batch by batch as the worker does, carrying the published views between batches."""
    ledger, published, out = Ledger(policy), {}, []
    for batch in batches:
        log = Changelog(policy, published=dict(published))
        for e in batch:
            log.catch_up(ledger, e)
            ledger.fold(e)
            log.observe(ledger)
        published.update(log.published)
        out.extend(written(log))
    return out


def written(log: Changelog) -> list[dict]:
    """The lead.updated envelopes as the batch hands them to the outbox (`Update.payload`), read back."""
    return [parse_envelope(u.payload()).model_dump(mode="json") for u in log.updates]


def test_the_rule_publishes_stage_changes_at_once_and_holds_other_changes_back(policy: Policy) -> None:
    entries = script()
    updates = fold(policy, entries, [entries])
    for u in updates:
        jsonschema.validate(u["data"], SCHEMA, format_checker=jsonschema.FormatChecker())
        assert u["type"] == "leadstate.lead.updated.v1" and u["subject"] == LEAD
    data = [u["data"] for u in updates]
    assert [(d["stage"], d["changed"]) for d in data] == [
        ("known", ["stage", "score_band", "top_interests", "fit"]),
        ("known", ["score_band", "top_interests"]),
        ("mql", ["stage", "top_interests"]),  # a stage change: 1 minute after is fine
        ("sql", ["stage"]),
    ]
    assert [d["updated_at"] for d in data] == [minutes(m).isoformat() for m in (0, 10, 13, 14)]
    fit = {"industry": "manufacturing", "title": "Marketing Manager", "title_level": "manager"}
    assert data[0]["fit"] == fit
    assert data[0]["score_band"] == "cold" and data[1]["score_band"] == "warm"
    assert [t["topic"] for t in data[1]["top_interests"]] == ["data-integration"]
    assert [t["topic"] for t in data[2]["top_interests"]] == ["lead-management", "data-integration"]
    assert len({u["id"] for u in updates}) == len(updates)


def test_batch_boundaries_do_not_change_the_events(policy: Policy) -> None:
    entries = script()
    whole = fold(policy, entries, [entries])
    one_by_one = fold(policy, entries, [[e] for e in entries])
    split = fold(policy, entries, [entries[:3], entries[3:]])
    assert whole == one_by_one == split


def test_anonymous_leads_publish_nothing(policy: Policy) -> None:
    anon = [activity_from_message("p1", {"type": "page", "anonymousId": "a9"}, T0)]
    assert fold(policy, anon, [anon]) == []


def test_the_stored_payload_is_the_envelope_byte_for_byte(policy: Policy) -> None:
    """The outbox gets `envelope_bytes` (no model per update): a valid lead.updated envelope, keyed by
    the lead, whose id is the update's own (redelivery de-duplicates on it)."""
    ledger, log = Ledger(policy), Changelog(policy)
    for e in script():
        ledger.fold(e)
        log.observe(ledger)
    assert len(log.updates) == 4
    for update in log.updates:
        envelope = parse_envelope(update.payload(), expected_types=frozenset({UPDATED_TYPE}))
        assert update.id == envelope.id and envelope.subject == update.lead_id == LEAD
        assert envelope.data == update.data and envelope.time == update.at
