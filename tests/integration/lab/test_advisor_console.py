"""The console's policy page asks the qualifier's advisor (with the handoff's own key) and shows the job
until it is done: each suggestion's sentence and its patch, the same as the API's. A thin history is a
page saying what is missing; a qualifier that is away is a note, and the rest of the page still shows."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.qualifier.advisor.candidates import CHANGE_WORDS
from tests.conftest import API_KEY_ALL
from tests.integration.console.conftest import csrf_of, post_login
from tests.integration.lab.conftest import LOOSE, Lab, Recorded
from tests.support import serve_app, wait_until

ASK = "/console/policy/suggestions"
KEY = SecretStr(API_KEY_ALL)  # the handoff's own key at the qualifier


@pytest.fixture
async def console(settings: Settings, lab: Lab) -> AsyncIterator[tuple[FastAPI, str]]:
    # a generous timeout: the shared test machine is slow, and this test is about what the page shows
    update = {
        "policy_path": LOOSE,
        "qualifier_url": lab.url,
        "qualifier_api_key": KEY,
        "qualifier_timeout_s": 30,
    }
    app = create_handoff(settings.model_copy(update=update))
    async with serve_app(app) as url:
        yield app, url


async def logged_in(browser: httpx.AsyncClient) -> str:
    """Log in; the session's CSRF token."""
    assert (await post_login(browser, {"key": API_KEY_ALL, "name": "Mika"})).status_code == 303
    return csrf_of((await browser.get("/console/policy")).text)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_the_policy_page_asks_the_advisor_and_shows_its_suggestions(
    recorded: Recorded, lab: Lab, console: tuple[FastAPI, str]
) -> None:
    _, url = console
    async with httpx.AsyncClient(base_url=url, follow_redirects=False, timeout=60) as browser:
        csrf = await logged_in(browser)
        page = await browser.get("/console/policy")
        assert "Suggestions" in page.text and "Ask the advisor" in page.text
        asked = await browser.post("/console/policy/suggestions", data={"csrf": csrf, "min_decisions": "10"})
        assert asked.status_code == 303, asked.text
        location = asked.headers["location"]
        job_id = re.fullmatch(r"/console/policy\?suggestions=([\w-]+)#suggestions", location)
        assert job_id, location

        async def shown() -> bool:
            return "Working on it" not in (await browser.get(location)).text

        await wait_until(shown, timeout_s=300, what="the console to show the advice")
        page_text = text_of((await browser.get(location)).text)
        job = (await lab.client.get(f"/v1/policy/suggestions/{job_id.group(1)}")).json()
        assert job["status"] == "done", job["error"]
        suggestions = job["advice"]["suggestions"]
        assert suggestions and all(s["edit"]["code"] in CHANGE_WORDS for s in suggestions)
        for s in suggestions:  # the CLI's sentence, with each not-SQL reason by its label
            head, _, rest = s["sentence"].partition(" (")
            assert head in page_text and rest.partition(") and kept ")[2] in page_text, s["sentence"]
        assert "+++ b/" in page_text and "candidate edits tested" in page_text
        assert "fewest not-SQL MQLs sent while keeping at least 95% of past SQLs" in page_text
        # in Japanese: each suggestion worded from its edit's code, the objective too; the patch as it is
        ja = text_of((await browser.get(location, headers={"Accept-Language": "ja"})).text)
        assert ja.count("は営業に渡さずに済み") == len(suggestions), ja
        for s in suggestions:
            assert f"ルール「{s['rule']}」" in ja
        assert "過去のSQLの95%以上を残したまま" in ja and "+++ b/" in ja
        for english in ("would have avoided", "decided MQLs", "Objective", "fewest not-SQL"):
            assert english not in ja, english
        audit = (await browser.get("/console/audit")).text
        assert "suggestions.started" in audit

        thin = await browser.post(
            "/console/policy/suggestions", data={"csrf": csrf, "min_decisions": "999999"}
        )
        assert thin.status_code == 409 and "fewer than the minimum of 999999" in thin.text
        thin_ja = await browser.post(
            "/console/policy/suggestions",
            data={"csrf": csrf, "min_decisions": "999999"},
            headers={"Accept-Language": "ja"},
        )
        assert thin_ja.status_code == 409 and "最小件数の999999件に届いていません" in thin_ja.text
        assert "fewer than" not in thin_ja.text
        bad = await browser.post("/console/policy/suggestions", data={"csrf": csrf, "min_decisions": "lots"})
        assert bad.status_code == 422 and "whole number" in bad.text
        forged = await browser.post("/console/policy/suggestions", data={"csrf": "x", "min_decisions": "10"})
        assert forged.status_code == 403


async def test_a_qualifier_that_is_away_is_a_note_on_an_otherwise_whole_page(settings: Settings) -> None:
    update = {"policy_path": LOOSE, "qualifier_url": "http://127.0.0.1:9", "qualifier_api_key": KEY}
    async with serve_app(create_handoff(settings.model_copy(update=update))) as url:
        async with httpx.AsyncClient(base_url=url, follow_redirects=False, timeout=60) as browser:
            csrf = await logged_in(browser)
            page = await browser.get("/console/policy?suggestions=sug_0123")
            assert page.status_code == 200 and "makes a known lead an MQL when" in page.text
            assert "the advisor is unavailable" in text_of(page.text)
            asked = await browser.post(
                "/console/policy/suggestions", data={"csrf": csrf, "min_decisions": "30"}
            )
            assert asked.status_code == 503 and "unavailable" in asked.text
