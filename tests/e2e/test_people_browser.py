"""The People page in headless Chromium: an admin signed in with a password changes a person's role with
the row's select and enables a disabled person with the row's button; the person's open session has the
new role on its next page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.browser import Page
from tests.integration.people.conftest import PASSWORD, People, people, people_app  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.brokers("tansu")]


async def sign_in_with_password(page: Page, console: str, email: str) -> None:
    await page.goto(f"{console}/console/login")
    await page.evaluate(
        f"document.querySelector('#email').value = {json.dumps(email)};"
        f"document.querySelector('#password').value = {json.dumps(PASSWORD)};"
    )
    await page.submit("document.querySelector('#password').form.submit()")


async def test_an_admin_changes_a_role_and_enables_a_person_on_the_people_page(
    people: People,  # noqa: F811
    page: Page,
    tmp_path: Path,
) -> None:
    await people.add("root@acme.test", "admin")
    mover, _ = await people.signed_in("mover@acme.test", "sales")
    await people.add("leaver@acme.test", "sales")
    assert (await people.cli("users", "disable", "leaver@acme.test"))[0] == 0
    assert (await mover.get("/console/funnel")).status_code == 403

    await sign_in_with_password(page, people.url, "root@acme.test")
    await page.goto(f"{people.url}/console/users")
    row = "[...document.querySelectorAll('tr')].find(r => r.textContent.includes('mover@acme.test'))"
    await page.evaluate(f"{row}.querySelector('select[name=role]').value = 'marketing'")
    await page.submit(f"{row}.querySelector('form[action$=role] button').click()")
    assert "mover@acme.test is now marketing" in await page.text("#users-done")
    assert (await mover.get("/console/funnel")).status_code == 200  # her open session, the new role

    leaver = "[...document.querySelectorAll('tr')].find(r => r.textContent.includes('leaver@acme.test'))"
    await page.submit(f"{leaver}.querySelector('form[action$=enable] button').click()")
    assert "leaver@acme.test is active again." in await page.text("#users-done")
    table = await page.text("table.people")
    assert "mover@acme.test\tmarketing\tactive" in table and "leaver@acme.test\tsales\tactive" in table
    await page.screenshot(tmp_path / "people.png")
