"""Single sign-on against a real OpenID Connect provider process: a person's first sign-in makes their
account in the role their groups map to, the role follows the groups at each sign-in, and people of
another domain, without a role, or disabled here are refused with a page that says so."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from services.handoff.tables import console_sessions, users
from tests.integration.people.conftest import People, PeopleFactory
from tests.integration.people.oidc_provider import Provider, oidc_settings, sign_on
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
