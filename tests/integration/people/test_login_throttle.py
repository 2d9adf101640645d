"""Failed logins are counted per account and per client address; past the limit the form answers 429
with a message that says what happened and what to do, and the right password no longer helps."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.integration.people.conftest import PASSWORD, People


async def test_wrong_passwords_lock_the_account_with_a_clear_message(people: People) -> None:
    await people.add("target@example.com", "sales")
    browser = people.browser()
    for _ in range(5):
        wrong = await people.sign_in(browser, "target@example.com", "not the password")
        assert wrong.status_code == 401 and "Wrong email or password." in wrong.text
    locked = await people.sign_in(browser, "target@example.com", PASSWORD)
    assert locked.status_code == 429
    assert "This account is locked after 5 failed logins. Wait 15 minutes" in locked.text
    assert "leadstate_console=" not in locked.headers.get("set-cookie", "")
    assert (await browser.get("/console/inbox")).status_code == 303  # not signed in

    await people.add("bystander@example.com", "sales")  # another account from the same address still works
    assert (await people.sign_in(people.browser(), "bystander@example.com")).status_code == 303


async def test_failures_from_one_address_are_throttled_across_accounts(
    people_app: Callable[..., Any],
) -> None:
    async with people_app(login_max_failures_per_address=3) as people:
        await people.add("real@example.com", "sales")
        browser = people.browser()
        for guess in ("a@example.com", "b@example.com", "c@example.com"):
            assert (await people.sign_in(browser, guess, "guess")).status_code == 401
        throttled = await people.sign_in(browser, "real@example.com")
        assert throttled.status_code == 429 and "Too many failed logins from your address" in throttled.text


async def test_api_keys_may_be_configured_as_hashes_and_their_last_use_is_shown(
    people_app: Callable[..., Any],
) -> None:
    machine = "ak_crm_" + "x" * 30
    configured = {"sha256:" + hashlib.sha256(machine.encode()).hexdigest(): ["mql:read"]}
    async with people_app(api_keys=configured) as people:
        api = people.browser()
        assert (await api.get("/v1/mqls", headers={"Authorization": f"Bearer {machine}"})).status_code == 200
        wrong = await api.get("/v1/mqls", headers={"Authorization": f"Bearer {next(iter(configured))}"})
        assert wrong.status_code == 401  # the hash itself is not a key
        admin, _ = await people.signed_in("admin@example.com", "admin")
        page = await admin.get("/console/audit")
        assert page.status_code == 200
        key_id = hashlib.sha256(machine.encode()).hexdigest()[:12]
        row = page.text.split(f"<code>{key_id}</code>")[1].split("</tr>")[0]
        # last used: a moment ago, written on the console's clock (Asia/Tokyo) the English way
        now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo"))
        days = {f"{t.day} {t:%b %Y}" for t in (now, now - timedelta(minutes=5))}  # midnight between
        assert "mql:read" in row and any(day in row for day in days) and "127.0.0.1" in row
        assert "Times in Asia/Tokyo (JST)" in page.text


async def test_the_post_login_target_stays_in_the_console(people: People) -> None:
    await people.add("careful@example.com", "sales")
    for target in (
        "https://evil.example/",
        "//evil.example/console/",
        "/console/\\evil.example",
        "/elsewhere",
    ):
        answer = await people.sign_in(people.browser(), "careful@example.com", next=target)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/inbox", target
    kept = await people.sign_in(people.browser(), "careful@example.com", next="/console/funnel?period=7d")
    assert kept.headers["location"] == "/console/funnel?period=7d"
