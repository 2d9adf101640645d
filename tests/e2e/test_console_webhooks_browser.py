"""The console's webhooks pages in headless Chromium against the real handoff app and a real receiver: an
admin adds an endpoint (the secret shown once), sends a test the receiver verifies with that secret, opens
the endpoint's page, changes its description, replays the test delivery and removes the endpoint. A
screenshot of each page goes to tmp_path, or to LEADSTATE_SCREENSHOTS."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from services.common.settings import Settings
from services.handoff.app import create_app
from tests.conftest import API_KEY_ALL
from tests.e2e.browser import Page, chromium_or_skip, chromium_page
from tests.integration.handoff.data import POLICY
from tests.integration.handoff.webhooks.receiver import Receiver, running_receiver
from tests.support import serve_app, wait_until

pytestmark = pytest.mark.e2e


async def fill(page: Page, fields: dict[str, str]) -> None:
    await page.evaluate(
        "".join(
            f"document.querySelector({json.dumps(s)}).value = {json.dumps(v)};" for s, v in fields.items()
        )
    )


async def test_an_admin_manages_an_endpoint_in_the_browser(settings: Settings, tmp_path: Path) -> None:
    binary = chromium_or_skip()
    shots = Path(os.environ.get("LEADSTATE_SCREENSHOTS") or tmp_path / "screenshots")
    app = create_app(
        settings.model_copy(
            update={"policy_path": POLICY, "webhook_allow_private": True, "webhook_poll_s": 0.2}
        )
    )
    receiver = Receiver()
    async with (
        running_receiver(receiver),
        serve_app(app) as url,
        chromium_page(binary, tmp_path / "chromium-profile") as page,
    ):
        assert "/console/login?next=" in await page.goto(f"{url}/console/webhooks")
        await fill(page, {"#key": API_KEY_ALL, "#name": "Aiko Sato"})
        assert (await page.submit("document.querySelector('#key').form.submit()")).endswith(
            "/console/webhooks"
        )
        assert "No endpoint yet" in await page.text("main")

        add = "form.webhook-form"
        await fill(page, {f"{add} input[name=url]": receiver.url, f"{add} input[name=description]": "CRM"})
        await page.submit(f"document.querySelector('{add}').submit()")
        secret = await page.text(".secret-value")
        assert secret.startswith("whsec_") and "shown this once" in await page.text("main")
        await page.screenshot(shots / "webhooks.png", max_height=1600)
        await page.goto(f"{url}/console/webhooks")
        assert secret not in await page.text("main")  # shown that once

        await page.submit("document.querySelector('form[action$=\"/test\"] button').click()")
        assert "delivered · HTTP 200" in " ".join((await page.text("main")).split())
        [sent] = receiver.received
        assert sent.verifies_with(secret)

        endpoint = await page.submit("document.querySelector('article.webhook h3 a').click()")
        assert endpoint.startswith(f"{url}/console/webhooks/wh")
        assert sent.webhook_id in await page.text("table.deliveries")
        change = "form.webhook-change"
        await fill(page, {f"{change} input[name=description]": "CRM (sales EMEA)"})
        await page.submit(f'document.querySelector("{change}").submit()')
        assert "Endpoint changed" in await page.text("main")
        assert "CRM (sales EMEA)" in await page.text(".facts")

        await fill(page, {"input[name=event_id]": sent.webhook_id})
        await page.submit("document.querySelector('input[name=event_id]').form.submit()")
        assert "1 delivery will be sent again" in await page.text("main")

        async def resent() -> bool:
            return len(receiver.received) == 2

        await wait_until(resent, timeout_s=30, what="the replayed delivery")
        assert receiver.received[1].webhook_id == sent.webhook_id and receiver.received[1].verifies_with(
            secret
        )
        await page.screenshot(shots / "webhook.png", max_height=2000)

        await fill(page, {"input[name=confirm]": "no"})
        await page.submit("document.querySelector('input[name=confirm]').form.submit()")
        assert "confirm: type the endpoint id" in await page.text("[role=alert]")
        hook_id = endpoint.rsplit("/", 1)[-1]
        await fill(page, {"input[name=confirm]": hook_id})
        landed = await page.submit("document.querySelector('input[name=confirm]').form.submit()")
        assert landed == f"{url}/console/webhooks" and "No endpoint yet" in await page.text("main")
