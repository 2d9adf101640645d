"""The console's policy page in headless Chromium, against the real handoff and the real qualifier (which
runs the advisor and the lab) on a recorded history. Suggestions: with sales decisions recorded, a person
asks the advisor and reads each suggestion with its evidence (the backtest's numbers in its sentence) and
its patch, the same as the qualifier's API; with no decision recorded, the page says there is nothing to
learn from yet. Simulation reports: a pasted candidate is run and its summary shown. Screenshots go to
tmp_path, or to LEADSTATE_SCREENSHOTS."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from services.qualifier.demo import generate_audience_with_truth
from services.qualifier.stitching import DecisionRecord
from tests.conftest import API_KEY_ALL
from tests.e2e.browser import Page, chromium_or_skip, chromium_page
from tests.history import History, recorded_history
from tests.integration.lab.conftest import FOCUSED, LEADS, LOOSE, START, Lab, policy, store

# the lab fixtures, shared (imported by name, as pytest finds them)
from tests.integration.lab.conftest import lab as lab
from tests.integration.lab.conftest import lab_console as lab_console
from tests.integration.lab.conftest import lab_policy as lab_policy
from tests.integration.lab.conftest import recorded as recorded
from tests.support import wait_until

pytestmark = pytest.mark.e2e
ASK = "form[action='/console/policy/suggestions']"


@pytest.fixture
def binary() -> str:
    found = chromium_or_skip()
    return found


@pytest.fixture
async def undecided(database_url: str) -> None:
    """The same kind of history, but sales never decided anything: events only."""
    messages, truth = generate_audience_with_truth(LEADS, seed=21, start=START, days=30)
    history = recorded_history(messages, truth, policy(LOOSE), seed=4)
    events = [e for e in history.entries if not isinstance(e.entry, DecisionRecord)]
    assert len(events) < len(history.entries)
    await store(database_url, History(entries=events, intents=history.intents), policy(LOOSE))


async def signed_in(page: Page, url: str) -> None:
    assert "/console/login?next=" in await page.goto(f"{url}/console/policy")
    await page.evaluate(
        f"document.querySelector('#key').value = {json.dumps(API_KEY_ALL)};"
        "document.querySelector('#name').value = 'Mika Tanaka';"
    )
    assert (await page.submit("document.querySelector('#key').form.submit()")).endswith("/console/policy")


async def ask_the_advisor(page: Page, least: int) -> str:
    await page.evaluate(f"document.querySelector(\"{ASK} input[name=min_decisions]\").value = '{least}'")
    return await page.submit(f'document.querySelector("{ASK} button").click()')


async def test_recorded_decisions_give_suggestions_with_their_evidence(
    binary: str, recorded: object, lab: Lab, lab_console: str, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("LEADSTATE_SCREENSHOTS") or tmp_path / "screenshots")
    async with chromium_page(binary, tmp_path / "chromium-profile") as page:
        await signed_in(page, lab_console)
        assert "Ask the advisor" in await page.text("#suggestions")
        landed = await ask_the_advisor(page, 10)
        found = re.search(r"/console/policy\?suggestions=([\w-]+)#suggestions$", landed)
        assert found, landed

        async def advice_shown() -> bool:
            await page.submit("location.reload()")  # as a person would (the same URL: no new navigation)
            return "Working on it" not in await page.text("#suggestions")

        await wait_until(advice_shown, timeout_s=300, what="the page to show the advisor's answer")
        job = (await lab.client.get(f"/v1/policy/suggestions/{found.group(1)}")).json()
        assert job["status"] == "done", job["error"]
        advice = job["advice"]
        assert advice["suggestions"], "the recorded history calls for at least one edit"
        await page.evaluate("document.querySelectorAll('#suggestions details').forEach(d => d.open = true)")
        section = " ".join((await page.text("#suggestions")).split())
        assert f"On {advice['history']['decided_mqls']} decided MQLs" in section
        for shown, suggestion in zip(await _items(page), advice["suggestions"], strict=True):
            said = " ".join(shown["sentence"].split())  # the CLI's sentence, each not-SQL reason by its label
            head, _, rest = suggestion["sentence"].partition(" (")
            assert head in said and rest.partition(") and kept ")[2] in said, (said, suggestion["sentence"])
            kept = suggestion["sql_recall"]
            assert f"kept {kept['still_qualified']} of {kept['past_sqls']} SQLs" in shown["sentence"]
            avoided = suggestion["not_sql_avoided"]
            assert f"avoided {avoided['total']} of {avoided['of']} not-SQL decisions" in shown["sentence"]
            assert shown["patch"].strip() == suggestion["patch"].strip()
            assert "+version: " in shown["patch"] and suggestion["version"] in shown["patch"]
        await page.screenshot(shots / "policy-suggestions.png", max_height=3200)


async def test_no_recorded_decision_says_there_is_nothing_to_learn_from(
    binary: str, undecided: None, lab_console: str, tmp_path: Path
) -> None:
    async with chromium_page(binary, tmp_path / "chromium-profile") as page:
        await signed_in(page, lab_console)
        await ask_the_advisor(page, 10)
        said = " ".join((await page.text("main")).split())
        assert "no sales decisions recorded" in said and "nothing to learn from" in said
        assert "+++ b/" not in said  # no suggestion, no patch
        await page.goto(f"{lab_console}/console/policy")
        assert "Ask the advisor" in await page.text("#suggestions")  # the page itself is whole


async def test_a_candidate_pasted_in_the_browser_is_simulated(
    binary: str, recorded: object, lab_console: str, tmp_path: Path
) -> None:
    """The policy page's lab form (the same page, its simulation reports): paste, run, read the summary."""
    shots = Path(os.environ.get("LEADSTATE_SCREENSHOTS") or tmp_path / "screenshots")
    async with chromium_page(binary, tmp_path / "chromium-profile") as page:
        await signed_in(page, lab_console)
        assert "No simulation has been run yet." in await page.text("#lab-reports")
        pasted = json.dumps(FOCUSED.read_text(encoding="utf-8"))
        await page.evaluate(
            f"document.querySelector('form.lab-form textarea[name=candidate]').value = {pasted}"
        )
        landed = await page.submit("document.querySelector('form.lab-form button').click()")
        assert re.search(r"/console/policy\?simulation=sim_\w+#lab-reports$", landed), landed

        async def report_shown() -> bool:
            await page.submit("location.reload()")
            return "Past SQLs still qualified" in await page.text("#lab-reports")

        await wait_until(report_shown, timeout_s=300, what="the page to show the simulation's summary")
        section = " ".join((await page.text("#lab-reports")).split())
        assert "Candidate 2026.1 against the running policy 2025.9-loose" in section
        assert "2026.1" in await page.text("table.lab-recent")  # listed among the recent reports
        await page.screenshot(shots / "policy-lab.png", max_height=3200)


async def _items(page: Page) -> list[dict[str, str]]:
    """Each suggestion as the browser renders it: its sentence and its (opened) patch."""
    found = await page.evaluate(
        "[...document.querySelectorAll('#suggestions ol.advice > li')].map(li => ({"
        "sentence: li.querySelector('p').innerText, patch: li.querySelector('pre.patch').innerText}))"
    )
    return list(found)
