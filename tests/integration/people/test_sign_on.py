"""Single sign-on against a real OpenID Connect provider process: a person's first sign-in makes their
account in the role their groups map to, the role follows the groups at each sign-in, and people of
another domain, without a role, or disabled here are refused with a page that says so."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlalchemy import func, select

from services.handoff.tables import console_sessions, users
from tests.integration.people.conftest import People, PeopleFactory
from tests.integration.people.oidc_provider import (
    Provider,
    authorize,
    come_back,
    leave_for_provider,
    oidc_settings,
    sign_on,
)
from tests.support import free_port

ROLES = {"crm-sales": "sales", "growth": "marketing", "it-admins": "admin"}
pytestmark = pytest.mark.brokers("tansu")  # the broker plays no part: one run is enough
REFRESH = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)">')


async def sessions(people: People) -> int:
    async with people.app.state.handoff.database.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(console_sessions)) or 0)


async def test_first_sign_in_makes_the_account_in_the_role_its_groups_map_to(
    people_app: PeopleFactory, provider: Provider
) -> None:
    async with people_app(**oidc_settings(provider.url, oidc_roles=ROLES)) as people:
        login = await people.browser().get("/console/login")
        assert 'href="/console/login/oidc?next=/console/inbox"' in login.text  # the button
        await provider.person("aiko@acme.test", groups=["crm-sales", "unrelated"])
        browser = people.browser()
        landed = await sign_on(browser, "aiko@acme.test", next="/console/leads/lead-9")
        assert landed.status_code == 200, landed.text
        assert "Signed in as <strong" in landed.text and "aiko@acme.test" in landed.text
        assert REFRESH.search(landed.text).group(1) == "/console/leads/lead-9"  # type: ignore[union-attr]
        assert "leadstate_console_oidc=" in landed.headers["set-cookie"]  # the flow cookie, spent
        inbox = await browser.get("/console/inbox")
        assert inbox.status_code == 200 and "aiko@acme.test" in inbox.text
        assert (await browser.get("/console/funnel")).status_code == 403  # sales: no funnel

        await provider.person("aiko@acme.test", groups=["growth", "crm-sales"])  # moved to marketing
        again = people.browser()
        assert (await sign_on(again, "aiko@acme.test")).status_code == 200
        assert (await again.get("/console/funnel")).status_code == 200
        assert (await browser.get("/console/funnel")).status_code == 200  # the role is read per request

        trail = [(r.actor, r.action, r.subject, r.detail) for r in await people.audit()]
        assert ("oidc", "user.added", "aiko@acme.test", {"role": "sales", "via": "oidc"}) in trail
        assert ("oidc", "user.role_changed", "aiko@acme.test", {"role": "marketing", "via": "oidc"}) in trail
        assert next(t for t in trail if t[1] == "user.login")[3] == {"how": "oidc"}
        async with people.app.state.handoff.database.engine.connect() as conn:
            row = (await conn.execute(select(users).where(users.c.email == "aiko@acme.test"))).one()
        assert row.role == "marketing" and row.created_by == "oidc" and row.password_hash is None


async def test_people_of_another_domain_without_a_role_or_disabled_are_refused_with_a_page(
    people_app: PeopleFactory, provider: Provider
) -> None:
    async with people_app(**oidc_settings(provider.url, oidc_roles=ROLES)) as people:
        await provider.person("eve@elsewhere.test", groups=["it-admins"])
        browser = people.browser()
        refused = await sign_on(browser, "eve@elsewhere.test")
        assert refused.status_code == 403
        assert (
            "eve@elsewhere.test may not sign in to this leadstate: only people of acme.test may"
            in refused.text
        )
        assert "Nobody is signed in" in refused.text
        assert (await browser.get("/console/inbox")).status_code == 303  # to the login page

        await provider.person("ken@acme.test", groups=["unrelated"])
        no_role = await sign_on(people.browser(), "ken@acme.test")
        assert (
            no_role.status_code == 403
            and "ken@acme.test has no role in leadstate (claim `groups`)" in no_role.text
        )

        await provider.person("mia@acme.test", email_verified=False, groups=["it-admins"])
        unverified = await sign_on(people.browser(), "mia@acme.test")
        assert unverified.status_code == 403 and "is not verified" in unverified.text

        await people.add("sam@acme.test", "sales")
        await people.cli("users", "disable", "sam@acme.test")
        await provider.person("sam@acme.test", groups=["it-admins"])
        disabled = await sign_on(people.browser(), "sam@acme.test")
        assert disabled.status_code == 403 and "sam@acme.test is disabled" in disabled.text

        assert await sessions(people) == 0
        trail = [(r.action, r.subject) for r in await people.audit() if r.action == "user.login_refused"]
        assert trail == [
            ("user.login_refused", "eve@elsewhere.test"),
            ("user.login_refused", "ken@acme.test"),
            ("user.login_refused", "mia@acme.test"),
            ("user.login_refused", "sam@acme.test"),
        ]


async def test_without_a_mapping_the_role_an_admin_gave_or_the_default_applies(
    people_app: PeopleFactory, provider: Provider
) -> None:
    async with people_app(**oidc_settings(provider.url)) as people:
        await people.add("rin@acme.test", "marketing")  # given by an admin; groups say nothing here
        await provider.person("rin@acme.test", groups=["it-admins"])
        browser = people.browser()
        assert (await sign_on(browser, "rin@acme.test")).status_code == 200
        assert (await browser.get("/console/funnel")).status_code == 200
        assert (await browser.get("/console/audit")).status_code == 403  # not admin for all their groups
        stranger = await sign_on(people.browser(), "new@acme.test")
        assert stranger.status_code == 403 and "new@acme.test has no role in leadstate." in stranger.text
    async with people_app(**oidc_settings(provider.url, oidc_default_role="sales")) as people:
        welcome = people.browser()
        assert (await sign_on(welcome, "new@acme.test")).status_code == 200
        assert (await welcome.get("/console/inbox")).status_code == 200


async def test_a_provider_that_is_down_gets_a_page_not_a_500(people_app: PeopleFactory) -> None:
    async with people_app(**oidc_settings(f"http://127.0.0.1:{free_port()}")) as people:
        browser = people.browser()
        down = await browser.get("/console/login/oidc")
        assert down.status_code == 502 and "The identity provider is unavailable" in down.text
        assert "leadstate_console_oidc" not in down.headers.get("set-cookie", "")
        assert (await browser.get("/console/login")).status_code == 200  # the other forms still work


async def test_sign_on_and_its_refusals_in_japanese(people_app: PeopleFactory, provider: Provider) -> None:
    """Accept-Language ja (the test deployment's default is en): the page after sign-on, the inbox it moves on
    to and every refusal the sign-on rules and the provider's answer give are in Japanese."""

    def japanese() -> httpx.AsyncClient:
        browser = people.browser()
        browser.headers["Accept-Language"] = "ja-JP,ja;q=0.9,en;q=0.5"
        return browser

    async with people_app(**oidc_settings(provider.url, oidc_roles=ROLES)) as people:
        await provider.person("aiko@acme.test", groups=["crm-sales"])
        browser = japanese()
        landed = await sign_on(browser, "aiko@acme.test")
        assert landed.status_code == 200, landed.text
        assert '<html lang="ja">' in landed.text and "<h1>サインインしました</h1>" in landed.text
        assert "としてサインインしました。" in landed.text and "コンソールへ進む" in landed.text
        assert "Signed in" not in landed.text and "Continue to the console" not in landed.text
        inbox = await browser.get("/console/inbox")
        assert inbox.status_code == 200 and "aiko@acme.test" in inbox.text
        assert "インボックス" in inbox.text and "ログアウト" in inbox.text and ">Log out<" not in inbox.text

        refusals = {
            "eve@elsewhere.test": (
                ["it-admins"],
                "eve@elsewhere.test ではこの leadstate にサインインできません。"
                "サインインできるのは acme.test のアカウントだけです。",
            ),
            "ken@acme.test": (
                ["unrelated"],
                "ken@acme.test さんには leadstate のロールがありません（クレーム `groups`）",
            ),
        }
        for who, (groups, said) in refusals.items():
            await provider.person(who, groups=groups)
            refused = await sign_on(japanese(), who)
            assert refused.status_code == 403 and said in html.unescape(refused.text), refused.text
            assert "サインインできませんでした" in refused.text and "サインインしていません。" in refused.text
            assert "may not sign in" not in refused.text and "has no role" not in refused.text
        await provider.person("mia@acme.test", email_verified=False, groups=["it-admins"])
        unverified = await sign_on(japanese(), "mia@acme.test")
        assert "mia@acme.test は確認済みのメールアドレスではありません" in unverified.text
        await people.add("sam@acme.test", "sales")
        await people.cli("users", "disable", "sam@acme.test")
        await provider.person("sam@acme.test", groups=["it-admins"])
        disabled = await sign_on(japanese(), "sam@acme.test")
        assert "sam@acme.test さんの leadstate アカウントは無効になっています" in disabled.text

        # the provider's own answer: a code sent twice is refused by the provider (invalid_grant)
        first = japanese()
        leg = await authorize(await leave_for_provider(first), "aiko@acme.test")
        flow = first.cookies.get("leadstate_console_oidc")
        assert (await come_back(first, leg)).status_code == 200
        again = japanese()
        again.cookies.set("leadstate_console_oidc", flow, path="/console/login/oidc")  # type: ignore[arg-type]
        replayed = await come_back(again, leg)
        assert replayed.status_code == 400
        assert "IDプロバイダーがサインインコードを受け付けませんでした（invalid_grant）。" in replayed.text
        assert "refused the sign-in code" not in replayed.text
