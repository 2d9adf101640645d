"""One endpoint's console page through the real handoff app and a real receiver: what the API offers and
the list does not (change URL, events and description; deliveries by status and paged; replay from a time
or a webhook-id; remove), each refusal a message naming the field, CSRF on every form, and each change in
the audit trail as the API writes it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from services.common.settings import Settings
from services.handoff.app import create_app
from services.handoff.tables import audit
from tests.conftest import API_KEY_ALL, Topics
from tests.integration.console.conftest import Console
from tests.integration.console.test_console_webhooks import SECRET
from tests.integration.handoff.data import POLICY
from tests.integration.handoff.webhooks.receiver import Receiver, running_receiver
from tests.support import serve_app, wait_until


@pytest.fixture
async def console(settings: Settings, kafka_bootstrap: str, topics: Topics) -> AsyncIterator[Console]:
    app = create_app(
        settings.model_copy(
            update={"policy_path": POLICY, "webhook_allow_private": True, "webhook_poll_s": 0.2}
        )
    )
    async with serve_app(app) as url:
        yield Console(url, app, kafka_bootstrap, topics)


async def test_one_endpoint_is_changed_replayed_and_removed_from_its_page(console: Console) -> None:
    receiver, other = Receiver(), Receiver()
    async with running_receiver(receiver), running_receiver(other), console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        form = {"csrf": csrf, "url": receiver.url, "events": ["lead.mql"], "format": "standard"}
        [secret] = SECRET.findall((await browser.post("/console/webhooks", data=form)).text)
        [hook] = (await _api(console, "GET", "/v1/webhooks")).json()["webhooks"]
        page = f"/console/webhooks/{hook['id']}"
        assert f'href="{page}"' in (await browser.get("/console/webhooks")).text
        shown = await browser.get(page)
        assert shown.status_code == 200 and "No delivery yet" in shown.text and receiver.url in shown.text

        change = {
            "csrf": csrf,
            "url": other.url,
            "events": ["lead.mql", "lead.updated"],
            "description": "CRM",
        }
        forged = await browser.post(page, data={**change, "csrf": "forged"})
        assert forged.status_code == 403
        for bad, message in (
            ({"url": "ftp://crm.example.com/x"}, "url refused"),
            ({"events": []}, "events: pick one or more"),
            ({"description": "x" * 501}, "description: at most 500"),
        ):
            refused = await browser.post(page, data={**change, **bad})
            assert refused.status_code == 422 and message in refused.text, refused.text
        saved = await browser.post(page, data=change)
        assert saved.status_code == 303 and saved.headers["location"] == f"{page}?saved=changed"
        assert "Endpoint changed" in (await browser.get(saved.headers["location"])).text
        now = (await _api(console, "GET", f"/v1/webhooks/{hook['id']}")).json()
        assert (now["url"], now["events"], now["description"]) == (
            other.url,
            ["lead.mql", "lead.updated"],
            "CRM",
        )

        for _ in range(2):
            await browser.post(f"/console/webhooks/{hook['id']}/test", data={"csrf": csrf})
        first, second = other.received
        delivered = await browser.get(page, params={"status": "delivered"})
        assert first.webhook_id in delivered.text and second.webhook_id in delivered.text
        assert "No delivery failed yet" in (await browser.get(page, params={"status": "failed"})).text
        assert (await browser.get(page, params={"status": "lost"})).status_code == 422
        assert (await browser.get(page, params={"before": "x"})).status_code == 422

        replay = f"/console/webhooks/{hook['id']}/replay"
        for bad, message in (
            ({}, "give one of them"),
            ({"since": "yesterday"}, "since: a date and time"),
            ({"event_id": "evt_unknown"}, "event_id: no delivery of"),
        ):
            refused = await browser.post(replay, data={"csrf": csrf, **bad})
            assert refused.status_code == 422 and message in refused.text, refused.text
        again = await browser.post(replay, data={"csrf": csrf, "event_id": second.webhook_id})
        assert again.status_code == 200 and "1 delivery will be sent again" in again.text

        async def resent() -> bool:
            return [r.webhook_id for r in other.received][2:] == [second.webhook_id]

        await wait_until(resent, timeout_s=30, what="the replayed delivery at the receiver")
        assert other.received[2].verifies_with(secret)

        kept = await browser.post(f"{page}/delete", data={"csrf": csrf, "confirm": "yes"})
        assert kept.status_code == 422 and "confirm: type the endpoint id" in kept.text
        removed = await browser.post(f"{page}/delete", data={"csrf": csrf, "confirm": hook["id"]})
        assert removed.status_code == 303 and removed.headers["location"] == "/console/webhooks"
        assert (await browser.get(page)).status_code == 404
        assert (await _api(console, "GET", f"/v1/webhooks/{hook['id']}")).status_code == 404

    async with console.app.state.handoff.database.engine.connect() as conn:
        rows = (
            await conn.execute(select(audit.c.action, audit.c.detail).where(audit.c.subject == hook["id"]))
        ).all()
    assert [(a, d.get("changes")) for a, d in rows] == [
        ("webhook.created", None),
        ("webhook.changed", ["description", "events", "url"]),
        ("webhook.deleted", None),
    ]


async def test_rotating_takes_a_grace_period_from_the_page(console: Console) -> None:
    receiver = Receiver()
    async with running_receiver(receiver), console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        form = {"csrf": csrf, "url": receiver.url, "events": ["lead.mql"], "format": "standard"}
        await browser.post("/console/webhooks", data=form)
        [hook] = (await _api(console, "GET", "/v1/webhooks")).json()["webhooks"]
        rotate = f"/console/webhooks/{hook['id']}/secret"
        too_long = await browser.post(rotate, data={"csrf": csrf, "grace_seconds": "604801"})
        assert too_long.status_code == 422 and "grace_seconds: a whole number" in too_long.text
        at_once = await browser.post(rotate, data={"csrf": csrf, "grace_seconds": "0"})
        assert at_once.status_code == 200 and "previous secret keeps signing" not in at_once.text


async def _api(console: Console, method: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(
        base_url=console.url, headers={"Authorization": f"Bearer {API_KEY_ALL}"}
    ) as c:
        return await c.request(method, path)
