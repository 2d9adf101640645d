"""The handoff's pure parts: cursors, SLA states, the MQL contract check, reason codes from a policy."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from services.common.policy_file import settings_policy
from services.common.settings import Settings
from services.handoff.cursor import CursorCodec, CursorError, Position, codec_for_keys
from services.handoff.mql import parse_mql
from services.handoff.policy import handoff_policy
from services.handoff.sla import qualified_window, sla_state
from tests.integration.handoff.data import POLICY, mql_data

ROOT = Path(__file__).resolve().parents[3]
MQL_SCHEMA = json.loads((ROOT / "contracts/events/lead.mql.v1.schema.json").read_text())
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


def test_cursor_round_trip_and_tampering() -> None:
    codec = CursorCodec(b"k" * 32)
    position = Position(T0, "lead-1:1")
    cursor = codec.encode(position, "oldest|None")

    assert codec.decode(cursor, "oldest|None") == position
    with pytest.raises(CursorError):
        codec.decode(cursor, "newest|None")  # issued for another order
    body, _, signature = cursor.partition(".")
    for bad in (body + "." + signature[::-1], body[1:] + "." + signature, "", ".", "x" * 5000, "é.é"):
        with pytest.raises(CursorError):
            codec.decode(bad, "oldest|None")
    with pytest.raises(CursorError):
        CursorCodec(b"other" * 8).decode(cursor, "oldest|None")


def test_cursor_secret_follows_the_configured_keys() -> None:
    a = codec_for_keys({"k1": ("mql:read",)})
    cursor = a.encode(Position(T0, "m"), "s")
    assert codec_for_keys({"k1": ("mql:read",)}).decode(cursor, "s") == Position(T0, "m")
    with pytest.raises(CursorError):
        codec_for_keys({"k2": ("mql:read",)}).decode(cursor, "s")


@pytest.mark.parametrize(
    ("hours_since", "state"),
    [(0, "ok"), (39.9, "ok"), (40, "due_soon"), (47.9, "due_soon"), (48, "breached")],
)
def test_sla_states_and_the_matching_query_window(hours_since: float, state: str) -> None:
    now = T0 + timedelta(hours=hours_since)
    assert sla_state(T0 + timedelta(hours=48), at=now, due_soon_hours=8) == state
    after, until = qualified_window(state, now=now, decision_hours=48, due_soon_hours=8)  # type: ignore[arg-type]
    assert (after is None or T0 > after) and (until is None or T0 <= until)


def test_mql_model_accepts_what_the_contract_accepts() -> None:
    data = mql_data("lead-1", qualified_at=T0)
    jsonschema.validate(data, MQL_SCHEMA)
    mql = parse_mql({**data, "future_field": 1})
    assert mql.top_topic == "lead-management" and mql.qualified_at == T0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"next_checks": []}, "next_checks"),
        ({"reasons": []}, "reasons"),
        ({"episode": 0}, "episode"),
        ({"qualified_at": "2026-11-01T09:00:00"}, "qualified_at"),  # no offset
        ({"rule": {"name": "r"}}, "rule.description"),
        ({"lead_id": ""}, "lead_id"),
    ],
)
def test_mql_model_refuses_what_the_contract_refuses(change: dict, field: str) -> None:
    data = {**mql_data("lead-1", qualified_at=T0), **change}
    if field != "qualified_at":  # the JSON Schema's date-time format is not asserted by default
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, MQL_SCHEMA)
    with pytest.raises(ValueError, match=field):
        parse_mql(data)


@pytest.mark.parametrize("edge", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00"])
def test_an_mql_at_an_instant_stored_as_infinity_is_refused(edge: str) -> None:
    with pytest.raises(ValueError, match="qualified_at"):
        parse_mql({**mql_data("lead-1", qualified_at=T0), "qualified_at": edge})


def test_reason_codes_from_the_policy_files() -> None:
    policy = handoff_policy(settings_policy(Settings(policy_path=POLICY)))
    assert policy.version == "test-7" and policy.decision_hours == 48 and policy.due_soon_hours == 8
    assert [r.code for r in policy.reasons_for("sql")] == ["problem_confirmed", "project_planned"]
    assert policy.reasons_for("recycled") == policy.reasons_for("rejected") == policy.not_sql
    assert policy.reason("sql", "no_budget") is None

    default = handoff_policy(settings_policy(Settings(policy_path=ROOT / "policies/default.yaml")))
    assert default.sql and default.not_sql
