"""Accounts in the console: the inbox's account card (company, people with roles, missing roles, reasons,
next checks) with the open MQLs of its people grouped under it instead of beside it; the card's decide
form (an account decision on lead.decisions); every account form refused without a session, the scope or
the form's token; the account page with its people's timelines from the real qualifier, and without."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi.routing import APIRoute

from services.common.settings import Settings
from services.handoff.console import account_page
from services.qualifier.demo_accounts import generate_companies_with_truth
from services.qualifier.worker import create_app as create_qualifier
from testbed import free_port
from tests.conftest import API_KEY_ALL, API_KEY_READ, Topics
from tests.integration.console.conftest import Console, ConsoleWith, csrf_of
from tests.integration.handoff.data import mqa_envelope, mql_envelope
from tests.integration.qualifier.test_qualifier_group import as_ingest_would
from tests.support import ROOT, publish, read_envelopes, serve_app, wait_until

ACME = "domain:acme.example"
ACME_PATH = f"/console/accounts/{quote(ACME, safe='')}"


async def _acme_with_people(console: Console) -> None:
    people = [mql_envelope("ld-dir"), mql_envelope("ld-alone")]
    people[0].data["account_id"] = ACME
    await publish(console.bootstrap, console.topics.mql, [mqa_envelope(ACME), *people])

    async def shown() -> bool:
        async with console.browser() as browser:
            await console.login(browser, API_KEY_ALL)
            html = (await browser.get("/console/inbox")).text
        return "Acme Works" in html and "ld-alone" in html and "ld-dir" in html

    await wait_until(shown, timeout_s=30, what="the MQA and both MQLs in the console inbox")


async def test_the_account_card_groups_its_people_and_is_decided_from_the_inbox(console: Console) -> None:
    await _acme_with_people(console)
    async with console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        html = (await browser.get("/console/inbox")).text
        card = html[html.index('class="card account-card') : html.index("</article>")]
        assert "Acme Works" in card and "buying-group-forming" in card
        assert "Not yet seen:" in card and "budget holder" in card  # the missing role, from the MQA
        assert "3 people engaged within 30 days" in card  # the reasons
        assert "Ask the champion to introduce the budget holder." in card  # the next checks
        # ld-dir's MQL is under the account card, not a card of its own; ld-alone has its own card
        assert 'href="/console/leads/ld-dir"' in card and 'data-lead="/console/leads/ld-dir"' not in html
        assert 'data-lead="/console/leads/ld-alone"' in html
        assert f'action="{ACME_PATH}/decision"' in card

        decision = {"csrf": csrf, "outcome": "sql", "reason": "problem_confirmed", "note": "Met all three."}
        answer = await browser.post(f"{ACME_PATH}/decision", data={**decision, "form_id": "f-1"})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == f"/console/inbox?decided_account={quote(ACME, safe='')}"
        after = (await browser.get(answer.headers["location"])).text
        assert "Decision recorded for account" in after and "account-card" not in after
        assert 'data-lead="/console/leads/ld-dir"' in after  # no open MQA: the person is a card again
        assert after.count(f'class="account-link" href="{ACME_PATH}"') == 1  # ld-dir's, not ld-alone's
        lead_page = (await browser.get("/console/leads/ld-dir")).text
        assert f'class="account-link" href="{ACME_PATH}"' in lead_page
        again = await browser.post(f"{ACME_PATH}/decision", data={**decision, "form_id": "f-2"})
        assert again.status_code == 409 and "has no open MQA any more" in again.text
        unknown = await browser.post("/console/accounts/nobody/decision", data={**decision, "form_id": "f-3"})
        assert unknown.status_code == 404 and "No MQA was received for account nobody" in unknown.text
        page = (await browser.get(ACME_PATH)).text
    assert "Met all three." in page and "Problem confirmed" in page and "Aiko Sato" in page
    [event] = [
        e
        for e in await read_envelopes(console.bootstrap, console.topics.decisions, expect=1, timeout_s=30)
        if e.type == "leadstate.account.decision.v1"
    ]
    assert (event.data["account_id"], event.data["outcome"]) == (ACME, "sql")


async def test_every_account_form_needs_a_session_the_scope_and_its_csrf_token(console: Console) -> None:
    """Read from the router, so an account form added later is covered the day it is added."""
    posts = [r.path for r in account_page.router.routes if isinstance(r, APIRoute) and "POST" in r.methods]
    assert posts
    await publish(console.bootstrap, console.topics.mql, [mqa_envelope(ACME)])
    paths = [p.replace("{account_id}", quote(ACME, safe="")) for p in posts]
    fields = {"outcome": "sql", "reason": "problem_confirmed"}
    async with console.browser() as browser:
        await console.login(browser, API_KEY_ALL)
        for path in paths:
            forged = await browser.post(path, data={**fields, "csrf": "forged"})
            assert forged.status_code == 403 and "not from your session" in forged.text, path
    async with console.browser() as stranger:
        for path in paths:
            answer = await stranger.post(path, data=fields)
            assert answer.status_code == 303 and "/console/login" in answer.headers["location"], path
    async with console.browser() as reader:
        read_csrf = await console.login(reader, API_KEY_READ)
        inbox = (await reader.get("/console/inbox")).text
        assert 'class="decide"' not in inbox  # a reader sees no decide form
        for path in paths:
            answer = await reader.post(path, data={**fields, "csrf": read_csrf})
            assert answer.status_code == 403 and "decisions:write" in answer.text, path
    assert await console.decisions() == 0


async def test_the_account_page_merges_its_peoples_timelines_from_the_qualifier(
    settings: Settings,
    console_with: ConsoleWith,
    kafka_bootstrap: str,
    topics: Topics,
) -> None:
    messages, truth = generate_companies_with_truth(4, seed=31, start=datetime(2026, 10, 1, tzinfo=UTC))
    [group] = [a for a, kind in truth.items() if kind == "buying_group"]
    envelopes = [as_ingest_would(m) for m in messages]
    default = ROOT / "policies/default.yaml"
    qualifier_app = create_qualifier(settings.model_copy(update={"policy_path": default}))
    async with serve_app(qualifier_app) as url, console_with(url, policy_path=default) as console:
        await publish(kafka_bootstrap, topics.events, envelopes)
        async with console.browser() as browser:
            await console.login(browser, API_KEY_ALL)

            async def account_card() -> bool:
                return "card account-card" in (await browser.get("/console/inbox")).text

            await wait_until(account_card, timeout_s=60, what="the buying group's MQA in the inbox")
            page = await browser.get(f"/console/accounts/{quote(group, safe='')}")
            japanese = await browser.get(
                f"/console/accounts/{quote(group, safe='')}", headers={"Accept-Language": "ja"}
            )
    assert page.status_code == 200, page.text
    html = page.text
    assert "Timeline unavailable" not in html
    users = {
        m["userId"]
        for m in messages
        if (m["type"] == "group" and m["groupId"] == group)
        or (m["type"] == "identify" and group == "domain:" + m["traits"]["email"].split("@")[1])
    }
    devices = {m["anonymousId"] for m in messages if m.get("userId") in users}
    assert len(users) >= 3
    assert html.count('<h3 class="member-chart">') == len(users) and html.count("<svg") >= len(users)
    # every event of every person (the anonymous ones stitched in), merged in one table
    assert html.count('<tr class="kind-') == sum(1 for m in messages if m["anonymousId"] in devices)
    assert "Episode 1" in html and "buying-group-forming" in html and "decision maker" in html
    # in Japanese: the catalog's words, the policy's role labels, the reasons rendered from their codes
    ja = japanese.text
    assert "担当者ごとのスコアの推移" in ja and "決裁者" in ja and "接触した人の中に決裁者" in ja
    assert "日以内に" in ja and "名が接触" in ja
    # the people's timelines, score charts and stages too: worded from their params, on the viewer's clock
    assert ja.count('<tr class="kind-') == html.count('<tr class="kind-')
    assert "のエンゲージメントスコアの推移" in ja and re.search(
        r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d</text>", ja
    )
    assert "リードを特定" in ja and ("をダウンロード" in ja or "を閲覧" in ja)
    for english in ("Engagement score of", "Identified as", "Viewed ", "Downloaded ", ">Known<", ">Open<"):
        assert english not in ja, english


async def test_the_account_page_answers_without_the_qualifier(console_with: ConsoleWith) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    async with console_with(nobody) as console:
        await publish(console.bootstrap, console.topics.mql, [mqa_envelope(ACME)])
        async with console.browser() as browser:
            await console.login(browser, API_KEY_ALL)

            async def shown() -> bool:
                return (await browser.get(ACME_PATH)).status_code == 200

            await wait_until(shown, timeout_s=30, what="the account page")
            page = await browser.get(ACME_PATH)
            missing = await browser.get("/console/accounts/nobody")
            hostile = [await browser.get(f"/console/accounts/{bad}") for bad in ("a%01b", "x" * 300)]
    assert "Timeline unavailable" in page.text and "cannot connect to the qualifier" in page.text
    assert "Episode 1" in page.text and "Acme Works" in page.text and csrf_of(page.text)
    assert missing.status_code == 404 and "nobody" in missing.text
    assert [a.status_code for a in hostile] == [422, 422]  # a control character, too long: a page, no 500
    assert all("text/html" in a.headers["content-type"] for a in hostile)
