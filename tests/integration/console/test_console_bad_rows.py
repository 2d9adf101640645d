"""The console's inbox, lead page and funnel keep answering with a planted row they cannot show, and
with MQLs stored at the edges of time (the year 9999, ±infinity)."""

from __future__ import annotations

import pytest

from tests.conftest import API_KEY_ALL
from tests.integration.console.conftest import Console
from tests.integration.handoff.data import mql_data
from tests.integration.handoff.test_handoff_bad_rows import plant, skipped_rows


@pytest.mark.parametrize("qualified_at", ["9999-12-31T23:59:59Z", "infinity", "-infinity"])
async def test_console_pages_show_mqls_stored_at_the_edges_of_time(
    console: Console, qualified_at: str
) -> None:
    await console.add_mqls("lead-ok")
    await plant(console.app.state.handoff.database.engine, "lead-edge", qualified_at, mql_data("lead-edge"))
    async with console.browser() as browser:
        await console.login(browser, API_KEY_ALL)
        for order in ("newest", "oldest"):
            inbox = await browser.get("/console/inbox", params={"order": order})
            assert inbox.status_code == 200, inbox.text
            assert "lead-ok" in inbox.text and "lead-edge" in inbox.text
        assert (await browser.get("/console/leads/lead-edge")).status_code == 200
        for period in ("7d", "all"):
            assert (await browser.get("/console/funnel", params={"period": period})).status_code == 200


async def test_console_inbox_and_lead_page_skip_a_row_they_cannot_show(console: Console) -> None:
    await console.add_mqls("lead-ok")
    broken = {**mql_data("lead-broken"), "rule": None, "score": "high"}
    await plant(console.app.state.handoff.database.engine, "lead-broken", "2026-01-01T00:00:00Z", broken)
    before = skipped_rows("inbox")
    async with console.browser() as browser:
        await console.login(browser, API_KEY_ALL)
        inbox = await browser.get("/console/inbox")
        assert inbox.status_code == 200, inbox.text
        assert "lead-ok" in inbox.text and "lead-broken" not in inbox.text
        assert skipped_rows("inbox") == before + 1
        assert (await browser.get("/console/leads/lead-broken")).status_code == 200
        assert (await browser.get("/console/funnel", params={"period": "all"})).status_code == 200
