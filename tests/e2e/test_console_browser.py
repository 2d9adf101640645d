"""The console in headless Chromium, with the three services as processes and the demo audience posted
through ingest: log in, see an explained MQL, reject it with a reason from the card, watch it leave the
inbox and appear in the funnel's reasons chart. Screenshots of each page go to tmp_path, or to the
directory in LEADSTATE_SCREENSHOTS (`LEADSTATE_SCREENSHOTS=docs/screenshots` refreshes the README's)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import API_KEY_ALL
from tests.e2e.browser import chromium_page
from tests.e2e.console_stack import console_stack
from tests.e2e.demo import demo_in_the_inbox, grouped_leads

pytestmark = pytest.mark.e2e
NOT_SQL = ("student_or_job_seeker", "Student or job seeker")  # used only by the browser below
LEAD_CARD = '[data-card][data-lead^="/console/leads/"]'  # account cards (open MQAs) come first
EARLIER = [("sql", "problem_confirmed"), ("sql", "evaluation_started"), ("recycled", "recycle_timing_later")]


async def test_sales_rejects_an_mql_in_the_browser_and_marketing_sees_why(
    env: dict[str, str], tmp_path: Path
) -> None:
    async with console_stack(env, tmp_path) as stack:
        handoff, shots = stack.handoff, stack.shots
        auth = {"Authorization": f"Bearer {API_KEY_ALL}"}
        # "Oldest first" is only checkable once the qualifier is done (MQLs still arriving may be older
        # than those already in).
        made = await demo_in_the_inbox(stack.env)
        async with httpx.AsyncClient(base_url=handoff, headers=auth, timeout=10) as api:
            items = (await api.get("/v1/mqls", params={"limit": 200})).json()["items"]
            assert len(items) == made, (len(items), made)
            assert isinstance(items, list) and len(items) > len(EARLIER)
            # A few decisions through the API first, so the funnel has more than one bar.
            for item, (outcome, reason) in zip(items[-len(EARLIER) :], EARLIER, strict=True):
                decided = await api.post(
                    f"/v1/leads/{item['lead_id']}/decisions",
                    json={"outcome": outcome, "reason": reason, "decided_by": "ken@sales"},
                )
                assert decided.status_code == 201, decided.text
        # the first card of its own: a lead whose company is an open MQA is inside the account's card
        grouped = await grouped_leads(handoff, API_KEY_ALL)
        oldest = next(i for i in items if i["lead_id"] not in grouped)

        async with chromium_page(stack.chromium, tmp_path / "chromium-profile") as page:
            landed = await page.goto(f"{handoff}/console/inbox")
            assert "/console/login?next=" in landed
            await page.screenshot(shots / "login.png")
            await page.evaluate(
                f"document.querySelector('#key').value = {json.dumps(API_KEY_ALL)};"
                "document.querySelector('#name').value = 'Aiko Sato';"
            )
            assert (await page.submit("document.querySelector('#key').form.submit()")).endswith(
                "/console/inbox"
            )
            # Oldest first: the oldest open MQL is the first card, with who it is and why.
            card_of_oldest = f'[data-card][data-lead="/console/leads/{oldest["lead_id"]}"]'
            assert await page.evaluate(
                f"document.querySelector({json.dumps(LEAD_CARD)}).matches({json.dumps(card_of_oldest)})"
            )
            card = await page.text(card_of_oldest)
            assert oldest["attributes"]["name"] in card and oldest["reasons"][0]["text"] in card
            await page.screenshot(shots / "inbox.png", max_height=1500)

            await page.goto(f"{handoff}/console/funnel")
            assert NOT_SQL[1] not in await page.text("main")
            await page.goto(f"{handoff}/console/inbox")
            await page.evaluate(
                f"const form = document.querySelector({json.dumps(card_of_oldest + ' form.decide')});"
                "form.querySelector('input[value=rejected]').click();"
                f"form.querySelector('select[name=reason]').value = {json.dumps(NOT_SQL[0])};"
                "form.querySelector('textarea[name=note]').value = 'Writing a thesis on MQLs';"
            )
            after = await page.submit(
                f"document.querySelector({json.dumps(card_of_oldest + ' form.decide button')}).click()"
            )
            assert "decided=" in after
            inbox = await page.text("main")
            assert "Decision recorded" in inbox
            assert await page.evaluate(f"document.querySelectorAll({json.dumps(card_of_oldest)}).length") == 0

            await page.goto(f"{handoff}/console/funnel")
            reasons_chart = await page.evaluate(
                "document.querySelector('svg.chart[aria-label=\"Why sales said not SQL\"]').textContent"
            )
            assert NOT_SQL[1] in reasons_chart
            await page.screenshot(shots / "funnel.png")

            await page.goto(f"{handoff}/console/leads/{oldest['lead_id']}")
            lead = await page.text("main")
            assert "Writing a thesis on MQLs" in lead and "Aiko Sato" in lead
            assert "Timeline unavailable" not in lead
            assert await page.evaluate("document.querySelectorAll('table.timeline tbody tr').length") > 1
            await page.screenshot(shots / "lead.png", max_height=1600)

            await page.goto(f"{handoff}/console/policy")
            policy_page = await page.text("main")
            assert "makes a known lead an MQL when" in policy_page
            assert "leadstate policy simulate" in policy_page and "not available" not in policy_page
            await page.screenshot(shots / "policy.png", max_height=1600)
