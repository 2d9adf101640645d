"""The console's webhooks page through the real handoff app and a real receiver: scope webhooks:admin,
CSRF, create (secret shown once), refusals naming the field, send test (signed, listed in the recent
deliveries), pause and enable, rotate (both secrets sign during the grace period)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi.routing import APIRoute

from services.common.settings import Settings
from services.handoff.app import create_app
from services.handoff.console import webhook_detail, webhooks_page
from tests.conftest import API_KEY_ALL, API_KEY_READ, Topics
from tests.integration.console.conftest import Console
from tests.integration.handoff.data import POLICY
from tests.integration.handoff.webhooks.receiver import Receiver, running_receiver
from tests.support import serve_app

SECRET = re.compile(r'<code class="secret-value">(whsec_[^<]+)</code>')


@pytest.fixture
async def console(settings: Settings, kafka_bootstrap: str, topics: Topics) -> AsyncIterator[Console]:
    app = create_app(settings.model_copy(update={"policy_path": POLICY, "webhook_allow_private": True}))
    async with serve_app(app) as url:
        yield Console(url, app, kafka_bootstrap, topics)


async def test_the_page_needs_a_login_and_the_webhooks_admin_scope(console: Console) -> None:
    async with console.browser() as browser:
        assert (await browser.get("/console/webhooks")).status_code == 303
        await console.login(browser, API_KEY_READ)
        refused = await browser.get("/console/webhooks")
        assert refused.status_code == 403 and "webhooks:admin" in refused.text


async def test_endpoints_are_managed_from_the_page(console: Console) -> None:
    receiver = Receiver()
    async with running_receiver(receiver), console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        empty = await browser.get("/console/webhooks")
        assert empty.status_code == 200 and "No endpoint yet" in empty.text
        assert 'href="/console/webhooks" aria-current="page"' in empty.text

        form = {
            "csrf": csrf,
            "url": receiver.url,
            "events": ["lead.mql", "lead.updated"],
            "format": "standard",
        }
        forged = await browser.post("/console/webhooks", data={**form, "csrf": "forged"})
        assert forged.status_code == 403 and "not from your session" in forged.text
        bad_url = await browser.post("/console/webhooks", data={**form, "url": "ftp://crm.example.com/x"})
        assert bad_url.status_code == 422 and "url refused" in bad_url.text
        assert "ftp://crm.example.com/x" in bad_url.text  # the form keeps what was typed
        no_events = await browser.post("/console/webhooks", data={**form, "events": []})
        assert no_events.status_code == 422 and "events: pick one or more" in no_events.text

        created = await browser.post("/console/webhooks", data=form)
        assert created.status_code == 200, created.text
        [secret] = SECRET.findall(created.text)
        listed = await browser.get("/console/webhooks")
        assert secret not in listed.text and "No delivery yet" in listed.text  # shown that once
        [hook] = (await _api(console, "GET", "/v1/webhooks")).json()["webhooks"]
        assert hook["events"] == ["lead.mql", "lead.updated"] and hook["state"] == "enabled"
        assert hook["id"] in listed.text and ">enabled</span>" in listed.text

        tested = await browser.post(f"/console/webhooks/{hook['id']}/test", data={"csrf": csrf})
        assert tested.status_code == 200 and "delivered" in tested.text and "HTTP 200" in tested.text
        [request] = receiver.received
        assert request.verifies_with(secret)
        assert "webhook.test" in tested.text  # listed in the recent deliveries

        paused = await browser.post(
            f"/console/webhooks/{hook['id']}/enabled", data={"csrf": csrf, "enabled": "false"}
        )
        assert paused.status_code == 303 and paused.headers["location"] == "/console/webhooks"
        assert (await _api(console, "GET", f"/v1/webhooks/{hook['id']}")).json()["state"] == "paused"
        assert ">paused</span>" in (await browser.get("/console/webhooks")).text
        await browser.post(f"/console/webhooks/{hook['id']}/enabled", data={"csrf": csrf, "enabled": "true"})
        assert (await _api(console, "GET", f"/v1/webhooks/{hook['id']}")).json()["state"] == "enabled"

        rotated = await browser.post(f"/console/webhooks/{hook['id']}/secret", data={"csrf": csrf})
        [new_secret] = SECRET.findall(rotated.text)
        assert new_secret != secret and "previous secret keeps signing" in rotated.text
        await browser.post(f"/console/webhooks/{hook['id']}/test", data={"csrf": csrf})
        during = receiver.received[-1]
        assert during.verifies_with(new_secret) and during.verifies_with(secret)


async def test_every_webhooks_form_needs_a_session_the_scope_and_its_csrf_token(console: Console) -> None:
    """Read from the routers, so a form added later is covered the day it is added."""
    posts = [
        route.path
        for module in (webhooks_page, webhook_detail)
        for route in module.router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]
    assert len(posts) >= 7
    receiver = Receiver()
    async with running_receiver(receiver), console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        form = {"csrf": csrf, "url": receiver.url, "events": ["lead.mql"], "format": "standard"}
        assert (await browser.post("/console/webhooks", data=form)).status_code == 200
        [hook] = (await _api(console, "GET", "/v1/webhooks")).json()["webhooks"]
        before = await _api(console, "GET", f"/v1/webhooks/{hook['id']}")
        paths = [p.replace("{webhook_id}", hook["id"]) for p in posts]
        fields = {
            "url": "https://crm.example.com/x",
            "events": ["lead.mql"],
            "enabled": "false",
            "confirm": hook["id"],
        }
        for path in paths:
            forged = await browser.post(path, data={**fields, "csrf": "forged"})
            assert forged.status_code == 403 and "not from your session" in forged.text, path
        async with console.browser() as stranger:
            for path in paths:
                answer = await stranger.post(path, data=fields)
                assert answer.status_code == 303 and "/console/login" in answer.headers["location"], path
        async with console.browser() as reader:
            read_csrf = await console.login(reader, API_KEY_READ)
            for path in paths:
                answer = await reader.post(path, data={**fields, "csrf": read_csrf})
                assert answer.status_code == 403 and "webhooks:admin" in answer.text, path
        after = await _api(console, "GET", f"/v1/webhooks/{hook['id']}")
        assert after.json() == before.json() and receiver.received == []  # nothing changed, nothing sent


async def test_an_unknown_endpoint_is_a_404_page(console: Console) -> None:
    async with console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        answer = await browser.post("/console/webhooks/wh_nope/secret", data={"csrf": csrf})
    assert answer.status_code == 404 and "No webhook endpoint" in answer.text
    assert answer.headers["content-type"].startswith("text/html")


async def _api(console: Console, method: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(
        base_url=console.url, headers={"Authorization": f"Bearer {API_KEY_ALL}"}
    ) as c:
        return await c.request(method, path)
