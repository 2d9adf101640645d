"""Accounts in headless Chromium, with the three services as processes and the demo's companies posted
through ingest: the inbox shows a buying group's account card with the role not yet seen, sales decides
on the whole account from the card, and the account page shows the decision beside its people's merged
timelines. Screenshots go to tmp_path, or to LEADSTATE_SCREENSHOTS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from services.common.db import connect
from tests.conftest import API_KEY_ALL
from tests.e2e.browser import chromium_page
from tests.e2e.console_stack import console_stack
from tests.e2e.demo import demo_in_the_inbox
from tests.support import wait_until

pytestmark = pytest.mark.e2e
SQL = ("buying_group_confirmed", "Buying group and problem confirmed")  # the default policy's account reason


async def open_mqas(env: dict[str, str], handoff: str) -> list[dict[str, Any]]:
    """The demo with its companies posted, every MQA the qualifier made in the handoff: the open ones."""
    await demo_in_the_inbox(env, "--companies", "8")
    db = await connect(env["LEADSTATE_DATABASE_URL"])
    try:

        async def accounts_projected() -> bool:
            made = await db.fetchval("SELECT count(*) FROM qualifier.mqas")
            return made > 0 and await db.fetchval("SELECT count(*) FROM handoff.mqas") == made

        await wait_until(accounts_projected, timeout_s=60, what="every MQA in the handoff's inbox")
    finally:
        await db.close()
    async with httpx.AsyncClient(base_url=handoff, timeout=10) as api:
        answer = await api.get("/v1/mqas", headers={"Authorization": f"Bearer {API_KEY_ALL}"})
    return list(answer.json()["items"])


async def test_sales_decides_on_a_buying_group_from_its_account_card(
    env: dict[str, str], tmp_path: Path
) -> None:
    async with console_stack(env, tmp_path) as stack:
        handoff, shots = stack.handoff, stack.shots
        items = await open_mqas(stack.env, handoff)
        # a buying group whose budget holder has not shown up yet: what sales asks about next
        mqa = next(i for i in items if "budget_holder" in {m["role"] for m in i["buying_group"]["missing"]})
        account_page = f"/console/accounts/{quote(mqa['account_id'], safe='')}"
        card = f"[data-card][data-lead={json.dumps(account_page)}]"

        async with chromium_page(stack.chromium, tmp_path / "chromium-profile") as page:
            await page.goto(f"{handoff}/console/inbox")
            await page.evaluate(
                f"document.querySelector('#key').value = {json.dumps(API_KEY_ALL)};"
                "document.querySelector('#name').value = 'Aiko Sato';"
            )
            await page.submit("document.querySelector('#key').form.submit()")
            text = await page.text(card)
            assert mqa["account"]["name"] in text and "buying-group-forming" in text
            assert "Not yet seen:" in await page.text(f"{card} .role.missing")
            assert "budget holder" in await page.text(f"{card} .role.missing")
            people = [m for m in mqa["members"] if m["engaged"]]
            assert len(people) >= 3 and all((m["name"] or m["email"]) in text for m in people)
            await page.screenshot(shots / "inbox-accounts.png", max_height=1500)

            form = json.dumps(f"{card} form.decide")
            await page.evaluate(
                f"const form = document.querySelector({form});"
                "form.querySelector('input[value=sql]').click();"
                f"form.querySelector('select[name=reason]').value = {json.dumps(SQL[0])};"
                "form.querySelector('textarea[name=note]').value = 'Champion will bring the CFO';"
            )
            after = await page.submit(f"document.querySelector({form}).querySelector('button').click()")
            assert "decided_account=" in after
            assert "Decision recorded for account" in await page.text("main")
            assert await page.evaluate(f"document.querySelectorAll({json.dumps(card)}).length") == 0

            await page.goto(f"{handoff}{account_page}")
            shown = await page.text("main")
            assert SQL[1] in shown and "Champion will bring the CFO" in shown and "Aiko Sato" in shown
            assert "Timeline unavailable" not in shown
            assert await page.evaluate("document.querySelectorAll('h3.member-chart').length") >= 3
            assert await page.evaluate("document.querySelectorAll('table.timeline tbody tr').length") > 3
            await page.screenshot(shots / "account.png", max_height=1800)
