"""The funnel report: SQL rate and not-SQL reasons per rule, policy version, topic and reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.handoff.data import mql_envelope

H = 3600.0
# lead, rule/policy/topic family, hours since qualified, decision (outcome, reason) or None: open
PLAN = [
    ("a1", "A", 10, ("sql", "problem_confirmed")),
    ("a2", "A", 20, ("sql", "problem_confirmed")),
    ("a3", "A", 60, ("rejected", "no_budget")),  # decided after the 48 h SLA
    ("a4", "A", 1, None),
    ("b1", "B", 2, ("sql", "project_planned")),
    ("b2", "B", 2, ("rejected", "no_timing")),
    ("b3", "B", 2, ("recycled", "recycle_timing_later")),
    ("b4", "B", 2, ("rejected", "no_timing")),
    ("b5", "B", 50, None),  # open past the SLA
]
FAMILY = {
    "A": {"rule": "seminar-attendee", "policy_version": "2026.1", "topic": "lead-management"},
    "B": {"rule": "hand-raiser", "policy_version": "2026.2", "topic": "data-integration"},
}


@pytest.fixture
async def decided(handoff):  # type: ignore[no-untyped-def]
    # "now" when the fixture runs (not at import): decisions follow within seconds, so a decision's
    # time to decision is the MQL's age however long the suite ran before this test
    handoff.now = now = datetime.now(UTC)
    envelopes = [
        mql_envelope(lead, qualified_at=now - timedelta(hours=hours), **FAMILY[family])
        for lead, family, hours, _ in PLAN
    ]
    await handoff.publish_mqls(envelopes, expect_rows=len(PLAN))
    for lead, _, _, decision in PLAN:
        if decision:
            outcome, reason = decision
            body = {"outcome": outcome, "reason": reason, "decided_by": "rep-1"}
            answer = await handoff.client.post(f"/v1/leads/{lead}/decisions", json=body)
            assert answer.status_code == 201, answer.text
    return handoff


async def _report(handoff, **params: str) -> dict:  # type: ignore[no-untyped-def]
    answer = await handoff.client.get("/v1/reports/funnel", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_sql_rate_and_reasons_per_group(decided) -> None:  # type: ignore[no-untyped-def]
    for group_by in ("rule", "policy_version", "topic"):
        _check_families(await _report(decided, group_by=group_by), group_by)


def _check_families(report: dict, group_by: str) -> None:

    a, b = report["groups"]  # highest SQL rate first
    assert (a["group"], b["group"]) == (FAMILY["A"][group_by], FAMILY["B"][group_by])
    assert next(iter(a)) == "sql_rate"
    assert a["sql_rate"] == round(2 / 3, 4) and b["sql_rate"] == 0.25
    counts = ("mqls", "decided", "open", "sqls", "rejected", "recycled", "sla_breaches")
    assert {k: a[k] for k in counts} == dict(zip(counts, (4, 3, 1, 2, 1, 0, 1), strict=True))
    assert {k: b[k] for k in counts} == dict(zip(counts, (5, 4, 1, 1, 2, 1, 1), strict=True))
    assert b["top_not_sql_reasons"] == [
        {"code": "no_timing", "label": "No project soon", "count": 2},
        {"code": "recycle_timing_later", "label": "Timing later - nurture", "count": 1},
    ]
    assert a["top_not_sql_reasons"] == [{"code": "no_budget", "label": "No budget", "count": 1}]
    # decisions were made now, so time to decision is the age: 10, 20 and 60 hours for A
    assert a["median_time_to_decision_s"] == pytest.approx(20 * H, abs=120)
    assert a["p90_time_to_decision_s"] == pytest.approx(52 * H, abs=120)
    total = report["total"]
    assert (total["mqls"], total["decided"], total["sqls"], total["sql_rate"]) == (9, 7, 3, round(3 / 7, 4))


async def test_group_by_reason_and_period(decided) -> None:  # type: ignore[no-untyped-def]
    by_reason = await _report(decided, group_by="reason")
    sqls = {g["group"]: (g["mqls"], g["sqls"], g["sql_rate"]) for g in by_reason["groups"]}
    assert sqls == {
        "problem_confirmed": (2, 2, 1.0),
        "project_planned": (1, 1, 1.0),
        "no_budget": (1, 0, 0.0),
        "no_timing": (2, 0, 0.0),
        "recycle_timing_later": (1, 0, 0.0),
        None: (2, 0, None),  # not decided yet
    }

    recent = await _report(decided, since=(decided.now - timedelta(hours=30)).isoformat())
    a, b = recent["groups"]
    assert (a["mqls"], a["sql_rate"], a["sla_breaches"]) == (3, 1.0, 0)  # a3 and b5 are older
    assert (b["mqls"], b["open"]) == (4, 0)
    old = await _report(decided, until=(decided.now - timedelta(hours=30)).isoformat())
    assert old["total"]["mqls"] == 2


async def test_report_says_what_the_headline_is_and_refuses_bad_input(handoff) -> None:  # type: ignore[no-untyped-def]
    spec = (await handoff.client.get("/openapi.json")).json()
    description = spec["paths"]["/v1/reports/funnel"]["get"]["description"]
    assert "SQL rate" in description and "MQL count is not the KPI" in description

    empty = await _report(handoff)
    assert empty["groups"] == [] and empty["total"]["mqls"] == 0 and empty["total"]["sql_rate"] is None

    now = datetime.now(UTC)
    bad_group = await handoff.client.get("/v1/reports/funnel", params={"group_by": "colour"})
    backwards = await handoff.client.get(
        "/v1/reports/funnel",
        params={"since": now.isoformat(), "until": (now - timedelta(days=1)).isoformat()},
    )
    assert bad_group.status_code == 422 and bad_group.json()["errors"][0]["field"] == "query.group_by"
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "until"
