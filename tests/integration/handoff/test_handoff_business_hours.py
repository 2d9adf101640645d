"""The decision SLA in working hours (`sla.business_hours`): an MQL qualified on Friday afternoon before a
weekend and a Monday public holiday is due days later on the Tokyo clock, in the API, the inbox filter and
the console card alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.common.settings import Settings
from services.handoff.app import create_app
from tests.conftest import API_KEY_ALL, Topics
from tests.integration.handoff.conftest import Handoff
from tests.integration.handoff.data import POLICY, mql_envelope
from tests.support import serve_app

TOKYO = ZoneInfo("Asia/Tokyo")
BUSINESS_HOURS = (
    "  business_hours: {days: [mon, tue, wed, thu, fri], start: '09:00', end: '18:00', holidays: JP}\n"
)


@pytest.fixture
async def office_hours(
    settings: Settings, kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> AsyncIterator[Handoff]:
    text = POLICY.read_text(encoding="utf-8")
    assert "  due_soon_hours: 8\n" in text
    policy = tmp_path / "policy.yaml"
    policy.write_text(text.replace("  due_soon_hours: 8\n", "  due_soon_hours: 8\n" + BUSINESS_HOURS))
    app = create_app(settings.model_copy(update={"policy_path": policy, "timezone": "Asia/Tokyo"}))
    headers = {"Authorization": f"Bearer {API_KEY_ALL}"}
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        yield Handoff(url, app, client, kafka_bootstrap, topics)


async def test_48_working_hours_skip_the_weekend_and_the_holiday(office_hours: Handoff) -> None:
    # Fri 2026-11-20 17:00 JST: 1 h that Friday; Sat, Sun and Mon 23rd (勤労感謝の日) skipped; 9 h on each
    # of Tue-Fri (36 h), 9 h on Mon 30th (46 h), the last 2 h on Tue 1 December: due 11:00.
    friday = mql_envelope("friday", qualified_at=datetime(2026, 11, 20, 17, tzinfo=TOKYO).astimezone(UTC))
    # 49 clock hours ago: past a 48-hour clock SLA, but 48 working hours never end within 5 days
    recent = mql_envelope("recent", qualified_at=datetime.now(UTC) - timedelta(hours=49))
    await office_hours.publish_mqls([friday, recent], expect_rows=2)
    lead = (await office_hours.client.get("/v1/leads/friday")).json()
    due = datetime.fromisoformat(lead["mqls"][0]["sla_due_at"])
    assert due == datetime(2026, 12, 1, 11, tzinfo=TOKYO)
    assert lead["mqls"][0]["sla_state"] == "breached"  # that Tuesday has passed on the test's clock
    recent_lead = (await office_hours.client.get("/v1/leads/recent")).json()
    assert recent_lead["mqls"][0]["sla_state"] != "breached"
    # the funnel counts breaches on the same working clock: the Friday MQL only
    report = await office_hours.client.get("/v1/reports/funnel", params={"since": "2026-11-01T00:00:00Z"})
    assert report.status_code == 200, report.text
    assert report.json()["total"]["sla_breaches"] == 1 and report.json()["total"]["mqls"] == 2


async def test_the_inbox_filter_agrees_with_each_mqls_state_on_the_working_clock(
    office_hours: Handoff,
) -> None:
    # Ages from an hour to three weeks: whatever weekday the test runs on, some are in each state.
    now = datetime.now(UTC)
    ages_h = [1, 5, 12, 20, 30, 45, 60, 75, 90, 110, 130, 160, 200, 260, 330, 500]
    envelopes = [mql_envelope(f"age-{h}", qualified_at=now - timedelta(hours=h)) for h in ages_h]
    await office_hours.publish_mqls(envelopes, expect_rows=len(envelopes))

    async def states() -> dict[str, str]:
        items = (await office_hours.client.get("/v1/mqls", params={"limit": 100})).json()["items"]
        return {i["lead_id"]: i["sla_state"] for i in items}

    before = await states()
    assert set(before.values()) >= {"ok", "breached"}
    filtered = {}
    for state in ("ok", "due_soon", "breached"):
        answer = (await office_hours.client.get("/v1/mqls", params={"sla": state, "limit": 100})).json()
        filtered[state] = {i["lead_id"] for i in answer["items"]}
    after = await states()
    # an MQL that crossed a boundary while the filters were asked is left out; all others must agree
    steady = {lead for lead in before if before[lead] == after[lead]}
    assert len(steady) >= len(ages_h) - 2
    for state, leads in filtered.items():
        assert leads & steady == {lead for lead in steady if before[lead] == state}, state

    # working hours, not clock hours: 48 h of 9 h days never end within 5 calendar days
    items = (await office_hours.client.get("/v1/mqls", params={"limit": 100})).json()["items"]
    for item in items:
        waited = datetime.fromisoformat(item["sla_due_at"]) - datetime.fromisoformat(item["qualified_at"])
        assert waited >= timedelta(days=5), item["lead_id"]
