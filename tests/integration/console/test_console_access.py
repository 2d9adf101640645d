"""Who may see and do what in the console: login, bad keys, forged cookies, logout, CSRF, scopes."""

from __future__ import annotations

import pytest

from services.handoff.console.session import COOKIE
from tests.conftest import API_KEY_ALL, API_KEY_NONE, API_KEY_READ
from tests.integration.console.conftest import Console, csrf_of, post_login


@pytest.mark.parametrize("page", ["/console/inbox", "/console/funnel", "/console/policy", "/console/leads/x"])
async def test_every_page_needs_a_login(console: Console, page: str) -> None:
    async with console.browser() as browser:
        answer = await browser.get(page)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login?next=%2Fconsole%2F")


async def test_login_sets_a_signed_httponly_strict_cookie_and_returns_to_the_page(console: Console) -> None:
    async with console.browser() as browser:
        answer = await post_login(browser, {"key": API_KEY_ALL, "name": "Aiko", "next": "/console/funnel"})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/funnel"
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
        assert API_KEY_ALL.lower() not in cookie  # the key itself never travels in the cookie
        page = await browser.get("/console/funnel")
        assert page.status_code == 200 and "SQL rate" in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")


async def test_login_never_redirects_outside_the_console(console: Console) -> None:
    async with console.browser() as browser:
        answer = await post_login(browser, {"key": API_KEY_ALL, "name": "Aiko", "next": "//evil.example/x"})
    assert answer.headers["location"] == "/console/inbox"


async def test_a_bad_key_or_no_name_is_refused_with_a_message(console: Console) -> None:
    async with console.browser() as browser:
        wrong = await post_login(browser, {"key": "ak_nope", "name": "Aiko"})
        assert wrong.status_code == 401 and "Unknown API key." in wrong.text
        assert COOKIE not in wrong.cookies
        nameless = await post_login(browser, {"key": API_KEY_ALL, "name": "  "})
        assert nameless.status_code == 422 and "Enter your name" in nameless.text
        assert (await browser.get("/console/inbox")).status_code == 303


async def test_a_login_posted_without_the_forms_token_is_refused(console: Console) -> None:
    """Login CSRF: a page elsewhere must not log a browser into the page author's key."""
    async with console.browser() as browser:
        blind = await browser.post("/console/login", data={"key": API_KEY_ALL, "name": "Aiko"})
        assert blind.status_code == 403 and "This login form expired" in blind.text
        assert COOKIE not in blind.cookies and COOKIE not in browser.cookies
        token = csrf_of((await browser.get("/console/login")).text)
    async with console.browser() as other:  # the token without its cookie: another browser's form
        stolen = await other.post("/console/login", data={"key": API_KEY_ALL, "name": "Aiko", "csrf": token})
        assert stolen.status_code == 403 and COOKIE not in other.cookies
        assert (await other.get("/console/inbox")).status_code == 303


async def test_a_forged_cookie_is_not_a_session(console: Console) -> None:
    async with console.browser() as browser:
        await console.login(browser, API_KEY_ALL)
        value = browser.cookies[COOKIE]
        body, _, signature = value.partition(".")
        browser.cookies.set(COOKIE, body + "." + signature[::-1], path="/console")
        assert (await browser.get("/console/inbox")).status_code == 303


async def test_logout_needs_the_csrf_token_and_ends_the_session(console: Console) -> None:
    async with console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        refused = await browser.post("/console/logout", data={"csrf": "not-the-token"})
        assert refused.status_code == 403 and "Form expired" in refused.text
        assert (await browser.get("/console/inbox")).status_code == 200
        answer = await browser.post("/console/logout", data={"csrf": csrf})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
        assert (await browser.get("/console/inbox")).status_code == 303


async def test_a_read_only_key_sees_no_decide_form_and_a_forged_post_is_refused(console: Console) -> None:
    await console.add_mqls("lead-read-only")
    async with console.browser() as browser:
        csrf = await console.login(browser, API_KEY_READ)
        inbox = await browser.get("/console/inbox")
        assert inbox.status_code == 200 and "lead-read-only@example.com" in inbox.text
        assert 'class="decide"' not in inbox.text
        forged = await browser.post(
            "/console/leads/lead-read-only/decision",
            data={"csrf": csrf, "outcome": "rejected", "reason": "no_budget"},
        )
        assert forged.status_code == 403 and "decisions:write" in forged.text
    assert await console.decisions() == 0


async def test_a_key_without_scopes_sees_why_not(console: Console) -> None:
    async with console.browser() as browser:
        await console.login(browser, API_KEY_NONE)
        inbox = await browser.get("/console/inbox")
        assert inbox.status_code == 403 and "mql:read" in inbox.text
        funnel = await browser.get("/console/funnel")
        assert funnel.status_code == 403 and "reports:read" in funnel.text
        assert csrf_of((await browser.get("/console/policy")).text)  # the policy is for everyone
