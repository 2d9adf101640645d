"""Single sign-on in headless Chromium, through a real OpenID Connect provider process and its login page:
a person of the company signs in, lands in the inbox (the session cookie is SameSite=Strict, the
provider's redirect is cross-site: the landing page must make the next request same-site), decides on
an MQL, and the decision is theirs; a person of another domain gets a page that says why. The same walk
with a Japanese browser (Accept-Language ja): every page after the provider's is in Japanese, the
refusal too."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from services.handoff.tables import decisions
from tests.e2e.browser import Page, chromium_or_skip, chromium_page
from tests.integration.people.conftest import People, PeopleFactory, people_app, provider  # noqa: F401
from tests.integration.people.oidc_provider import Provider, oidc_settings
from tests.support import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.brokers("tansu")]


@pytest.fixture
async def people(people_app: PeopleFactory, provider: Provider) -> AsyncIterator[People]:  # noqa: F811
    """The console with single sign-on at acme.test, the provider's group crm-sales mapped to sales."""
    async with people_app(**oidc_settings(provider.url, oidc_roles={"crm-sales": "sales"})) as started:
        yield started


async def sign_on_in_browser(page: Page, console: str, sub: str) -> None:
    """The login page's button, then the provider's page: type who you are, press Authorize."""
    await page.goto(f"{console}/console/inbox")
    on_provider = await page.submit("document.querySelector('#sso').click()")
    assert "/oauth2/authorize?" in on_provider, on_provider
    await page.evaluate(f"document.querySelector('input[name=sub]').value = {json.dumps(sub)}")
    await page.submit("document.querySelector('input[name=sub]').form.submit()")


async def test_a_person_signs_on_through_the_provider_and_decides_under_their_name(
    people: People,
    provider: Provider,  # noqa: F811
    page: Page,
) -> None:
    await people.add_mql("lead-sso-1")
    await provider.person("aiko.sato@acme.test", groups=["crm-sales"])
    await sign_on_in_browser(page, people.url, "aiko.sato@acme.test")

    async def in_the_inbox() -> bool:
        return str(await page.evaluate("location.pathname")) == "/console/inbox"

    await wait_until(in_the_inbox, timeout_s=30, what="the landing page moving on to the inbox")
    await wait_until(lambda: page.evaluate("document.readyState === 'complete'"), what="the inbox loaded")
    assert "aiko.sato@acme.test" in await page.text("header")  # signed in, as a person
    assert "lead-sso-1" in await page.evaluate("document.querySelector('[data-card]').dataset.lead")
    await page.evaluate(
        "const form = document.querySelector('[data-card] form.decide');"
        "form.querySelector('input[value=sql]').click();"
        "form.querySelector('select[name=reason]').value = 'problem_confirmed';"
    )
    after = await page.submit("document.querySelector('[data-card] form.decide button').click()")
    assert "decided=" in after and "Decision recorded" in await page.text("main")
    await page.goto(f"{people.url}/console/leads/lead-sso-1")
    assert "by aiko.sato@acme.test" in await page.text("main")

    async with people.app.state.handoff.database.engine.connect() as conn:
        assert await conn.scalar(select(decisions.c.decided_by)) == "aiko.sato@acme.test"
    [decision] = [r for r in await people.audit() if r.action == "decision.recorded"]
    assert decision.actor == "aiko.sato@acme.test"


async def test_a_person_of_another_domain_is_refused_with_a_clear_page(
    people: People,
    provider: Provider,  # noqa: F811
    page: Page,
) -> None:
    await provider.person("mallory@rival.test", groups=["crm-sales"])
    await sign_on_in_browser(page, people.url, "mallory@rival.test")
    assert await page.text("h1") == "Sign-in refused"
    refusal = await page.text("#refusal")
    assert "mallory@rival.test may not sign in to this leadstate: only people of acme.test may" in refusal
    assert "/console/login" in await page.goto(f"{people.url}/console/inbox")  # nobody signed in


@pytest.fixture
async def page_ja(tmp_path: Path) -> AsyncIterator[Page]:
    """A browser whose every request says `Accept-Language: ja` (the test deployment's default is en)."""
    binary = chromium_or_skip()
    async with chromium_page(binary, tmp_path / "profile-ja", language="ja") as opened:
        yield opened


async def test_a_person_signs_on_in_japanese_and_the_pages_after_it_are_japanese(
    people: People,
    provider: Provider,  # noqa: F811
    page_ja: Page,
) -> None:
    page = page_ja
    await people.add_mql("lead-sso-ja")
    await provider.person("aiko.sato@acme.test", groups=["crm-sales"])
    await page.goto(f"{people.url}/console/inbox")
    assert "会社のアカウントでサインイン" in await page.text("main")  # the login page, before the provider
    await sign_on_in_browser(page, people.url, "aiko.sato@acme.test")

    async def in_the_inbox() -> bool:
        return str(await page.evaluate("location.pathname")) == "/console/inbox"

    await wait_until(in_the_inbox, timeout_s=30, what="the landing page moving on to the inbox")
    await wait_until(lambda: page.evaluate("document.readyState === 'complete'"), what="the inbox loaded")
    assert await page.evaluate("document.documentElement.lang") == "ja"
    header = await page.text("header")
    assert "aiko.sato@acme.test" in header and "ログアウト" in header and "インボックス" in header
    assert "Log out" not in header and "Inbox" not in header
    await page.evaluate(
        "const form = document.querySelector('[data-card] form.decide');"
        "form.querySelector('input[value=sql]').click();"
        "form.querySelector('select[name=reason]').value = 'problem_confirmed';"
    )
    after = await page.submit("document.querySelector('[data-card] form.decide button').click()")
    main = await page.text("main")
    assert "decided=" in after and "lead-sso-ja の判定を記録しました" in main, main
    assert "Decision recorded" not in main
    await page.goto(f"{people.url}/console/leads/lead-sso-ja")
    main = await page.text("main")
    assert "判定者 aiko.sato@acme.test" in main and "by aiko.sato@acme.test" not in main, main
    [decision] = [r for r in await people.audit() if r.action == "decision.recorded"]
    assert decision.actor == "aiko.sato@acme.test"


async def test_a_person_of_another_domain_is_refused_in_japanese(
    people: People,
    provider: Provider,  # noqa: F811
    page_ja: Page,
) -> None:
    await provider.person("mallory@rival.test", groups=["crm-sales"])
    await sign_on_in_browser(page_ja, people.url, "mallory@rival.test")
    assert await page_ja.text("h1") == "サインインできませんでした"
    refusal = await page_ja.text("#refusal")
    assert "mallory@rival.test ではこの leadstate にサインインできません。" in refusal, refusal
    assert "サインインできるのは acme.test のアカウントだけです" in refusal and "may not" not in refusal
