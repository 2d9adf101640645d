"""The console's policy page runs the policy lab: the recent simulation reports (the qualifier's
GET /v1/policy/simulations, with the handoff's own key), a candidate pasted or uploaded and posted to the
qualifier, the job shown until done with its report's summary, the same numbers as the API's. Refusals are
pages naming what is wrong; CSRF and the scope `reports:read` guard both policy-page forms; a qualifier
that is away is one line on an otherwise whole page."""

from __future__ import annotations

import re

import httpx
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from services.common.policy.limits import MAX_DOCUMENT_BYTES
from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.handoff.console import policy_lab, policy_page
from services.qualifier.tables import jobs
from tests.conftest import API_KEY_NONE
from tests.integration.console.conftest import csrf_of, post_login
from tests.integration.lab.conftest import FOCUSED, LOOSE, SCORE_ONLY, Lab, Recorded
from tests.integration.lab.test_advisor_console import KEY, logged_in, text_of
from tests.support import serve_app, wait_until

RUN = "/console/policy/simulations"


def browser_for(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, follow_redirects=False, timeout=60)


async def test_a_pasted_candidate_is_simulated_and_its_report_summarised(
    recorded: Recorded, lab: Lab, lab_console: str
) -> None:
    async with browser_for(lab_console) as browser:
        csrf = await logged_in(browser)
        before = text_of((await browser.get("/console/policy")).text)
        assert "Simulation reports" in before and "No simulation has been run yet." in before
        asked = await browser.post(RUN, data={"csrf": csrf, "candidate": FOCUSED.read_text()})
        assert asked.status_code == 303, asked.text
        location = asked.headers["location"]
        found = re.fullmatch(r"/console/policy\?simulation=([\w-]+)#lab-reports", location)
        assert found, location
        job_id = found.group(1)

        async def finished() -> bool:
            return "The lab replays the stored history" not in (await browser.get(location)).text

        await wait_until(finished, timeout_s=300, what="the console to show the finished simulation")
        page = text_of((await browser.get(location)).text)
        job = (await lab.client.get(f"/v1/policy/simulations/{job_id}")).json()
        assert job["status"] == "done", job["error"]
        report = job["report"]
        recall, rejections = report["sql_recall"], report["rejections"]
        decided = report["history"]["decided_mqls"]
        assert f"Candidate 2026.1 against the running policy 2025.9-loose, on {decided}" in page
        assert f"Past SQLs still qualified: {recall['still_qualified']} of {recall['past_sqls']}." in page
        avoided = f"no longer sent: {rejections['no_longer_sent']} of {rejections['past_not_sqls']}."
        assert avoided in page and rejections["no_longer_sent"] > 0
        listed = (await browser.get("/console/policy")).text
        assert f"?simulation={job_id}#lab-reports" in listed  # the recent reports list it
        assert "simulation.started" in (await browser.get("/console/audit")).text


async def test_an_uploaded_candidate_reaches_the_lab_and_refusals_are_pages(
    recorded: Recorded, lab: Lab, lab_console: str
) -> None:
    async with browser_for(lab_console) as browser:
        csrf = await logged_in(browser)
        upload = {"candidate_file": ("score_only.yaml", SCORE_ONLY.read_bytes(), "application/yaml")}
        invalid = await browser.post(RUN, data={"csrf": csrf}, files=upload)
        assert invalid.status_code == 422 and invalid.headers["content-type"].startswith("text/html")
        said = text_of(invalid.text)
        assert "The simulation was not started" in said and "'hot-score'" in said and "line " in said
        assert "the candidate policy is invalid (" in said
        upload = {"candidate_file": ("score_only.yaml", SCORE_ONLY.read_bytes(), "application/yaml")}
        japanese = await browser.post(
            RUN, data={"csrf": csrf}, files=upload, headers={"Accept-Language": "ja"}
        )
        said = text_of(
            japanese.text
        )  # the lab's words in Japanese; the policy's problems as the loader wrote
        assert (
            japanese.status_code == 422 and "変更案の基準に誤りがあります（" in said and "'hot-score'" in said
        )
        assert "candidate policy is invalid" not in said
        empty = await browser.post(RUN, data={"csrf": csrf, "candidate": "  "}, files={"x": ("", b"")})
        assert empty.status_code == 422 and "Paste a candidate policy" in text_of(empty.text)
        big = {"candidate_file": ("big.yaml", b"#" * (MAX_DOCUMENT_BYTES + 1), "application/yaml")}
        too_large = await browser.post(RUN, data={"csrf": csrf}, files=big)
        assert too_large.status_code == 413 and "KB" in too_large.text
        latin = {"candidate_file": ("latin.yaml", "version: 'é'".encode("latin-1"), "text/plain")}
        not_utf8 = await browser.post(RUN, data={"csrf": csrf}, files=latin)
        assert not_utf8.status_code == 422 and "not UTF-8" in not_utf8.text
    async with lab.app.state.qualifier.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(jobs)) == 0  # nothing was started


async def test_an_empty_history_says_so(lab: Lab, lab_console: str) -> None:
    async with browser_for(lab_console) as browser:
        csrf = await logged_in(browser)
        answer = await browser.post(RUN, data={"csrf": csrf, "candidate": FOCUSED.read_text()})
        assert answer.status_code == 409 and "the event log is empty" in answer.text


async def test_both_policy_forms_need_a_session_their_csrf_token_and_reports_read(
    lab: Lab, lab_console: str
) -> None:
    """Read from the routers, so a form added to the policy page later is covered the day it is added."""
    posts = [
        route.path
        for module in (policy_page, policy_lab)
        for route in module.router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]
    assert RUN in posts and "/console/policy/suggestions" in posts
    fields = {"candidate": "version: 'x'", "min_decisions": "10"}  # small: the suggestions form takes 16 KB
    async with browser_for(lab_console) as browser:
        await logged_in(browser)
        for path in posts:
            forged = await browser.post(path, data={**fields, "csrf": "forged"})
            assert forged.status_code == 403 and "not from your session" in forged.text, path
    async with browser_for(lab_console) as stranger:
        for path in posts:
            answer = await stranger.post(path, data=fields)
            assert answer.status_code == 303 and "/console/login" in answer.headers["location"], path
    async with browser_for(lab_console) as no_scope:
        assert (await post_login(no_scope, {"key": API_KEY_NONE, "name": "Ren"})).status_code == 303
        page = await no_scope.get("/console/policy")
        assert "Simulation reports need the scope reports:read." in text_of(page.text)
        assert 'action="/console/policy/simulations"' not in page.text
        token = csrf_of(page.text)
        for path in posts:
            answer = await no_scope.post(path, data={**fields, "csrf": token})
            assert answer.status_code == 403 and "reports:read" in answer.text, path
    async with lab.app.state.qualifier.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(jobs)) == 0  # nothing was started


async def test_a_qualifier_that_is_away_is_one_line_on_a_whole_page(settings: Settings) -> None:
    update = {"policy_path": LOOSE, "qualifier_url": "http://127.0.0.1:9", "qualifier_api_key": KEY}
    async with (
        serve_app(create_handoff(settings.model_copy(update=update))) as url,
        browser_for(url) as browser,
    ):
        csrf = await logged_in(browser)
        page = await browser.get("/console/policy?simulation=sim_0123")
        said = text_of(page.text)
        assert page.status_code == 200 and "makes a known lead an MQL when" in said
        assert "Policy lab unavailable: cannot connect to the qualifier" in said
        assert "Simulation sim_0123" not in said  # no job to show, and no made-up status
        asked = await browser.post(RUN, data={"csrf": csrf, "candidate": FOCUSED.read_text()})
        assert asked.status_code == 503 and "The policy lab is unavailable" in text_of(asked.text)
