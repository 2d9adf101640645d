"""Admins manage people in the console (list, add, disable, enable, change a role), each change audited
under their name; and behind a trusted reverse proxy the audit records the person's address and sign-on
the public address."""

from __future__ import annotations

import re

import pytest

from tests.integration.people.conftest import PASSWORD, People, PeopleFactory, csrf_of
from tests.integration.people.oidc_provider import Provider, leave_for_provider, oidc_settings, query

pytestmark = pytest.mark.brokers("tansu")  # the broker plays no part: one run is enough
LINK = re.compile(r'<code class="secret-value">http://[^/]+(/console/set-password\?token=[^<]+)</code>')


async def test_an_admin_adds_and_disables_people_in_the_console(people: People) -> None:
    admin, csrf = await people.signed_in("root@acme.test", "admin")
    page = await admin.get("/console/users")
    assert page.status_code == 200 and "root@acme.test" in page.text

    added = await admin.post("/console/users", data={"email": "Nao@Acme.test", "role": "sales", "csrf": csrf})
    assert added.status_code == 200 and "nao@acme.test can set a password" in added.text
    link = LINK.search(added.text)
    assert link, added.text
    newcomer = people.browser()
    form = await newcomer.get(link.group(1).replace("&amp;", "&"))
    assert form.status_code == 200 and "nao@acme.test" in form.text
    token = link.group(1).split("token=")[1]
    fields = {"token": token, "password": PASSWORD, "repeat": PASSWORD, "csrf": csrf_of(form.text)}
    assert (await newcomer.post("/console/set-password", data=fields)).status_code == 303
    assert (await newcomer.get("/console/inbox")).status_code == 200

    for data, says in (
        ({"email": "nao@acme.test", "role": "sales"}, "nao@acme.test already has an account"),
        ({"email": "not-an-email", "role": "sales"}, "is not an email address"),
        ({"email": "x@acme.test", "role": "boss"}, "Unknown role &#39;boss&#39;"),
        ({"email": "x" * 300 + "@acme.test", "role": "sales"}, ""),
    ):
        refused = await admin.post("/console/users", data={**data, "csrf": csrf})
        assert refused.status_code == 422 and says in refused.text
    assert (
        await admin.post("/console/users", data={"email": "y@acme.test", "role": "sales"})
    ).status_code == 403

    mine = await admin.post("/console/users/disable", data={"email": "root@acme.test", "csrf": csrf})
    assert mine.status_code == 422 and "cannot disable your own account" in mine.text
    gone = await admin.post("/console/users/disable", data={"email": "nao@acme.test", "csrf": csrf})
    assert gone.status_code == 200 and "nao@acme.test is disabled" in gone.text
    assert (await newcomer.get("/console/inbox")).status_code == 303  # her session ended
    unknown = await admin.post("/console/users/disable", data={"email": "who@acme.test", "csrf": csrf})
    assert unknown.status_code == 422 and "No account for &#39;who@acme.test&#39;" in unknown.text

    listed = await admin.get("/console/users")
    assert 'aria-label="Enable nao@acme.test"' in listed.text
    back = await admin.post("/console/users/enable", data={"email": "nao@acme.test", "csrf": csrf})
    assert back.status_code == 200 and "nao@acme.test is active again." in back.text
    assert (await people.sign_in(newcomer, "nao@acme.test")).status_code == 303  # her password again
    assert (await newcomer.get("/console/funnel")).status_code == 403  # sales: no funnel
    moved = await admin.post(
        "/console/users/role", data={"email": "nao@acme.test", "role": "marketing", "csrf": csrf}
    )
    assert moved.status_code == 200 and "nao@acme.test is now marketing" in moved.text
    assert (await newcomer.get("/console/funnel")).status_code == 200  # the same session, the new role
    own = await admin.post(
        "/console/users/role", data={"email": "root@acme.test", "role": "sales", "csrf": csrf}
    )
    assert own.status_code == 422 and "cannot change your own role" in own.text
    boss = await admin.post(
        "/console/users/role", data={"email": "nao@acme.test", "role": "boss", "csrf": csrf}
    )
    assert boss.status_code == 422 and "Unknown role &#39;boss&#39;" in boss.text
    no_csrf = await admin.post("/console/users/role", data={"email": "nao@acme.test", "role": "admin"})
    assert no_csrf.status_code == 403

    sales, sales_csrf = await people.signed_in("sara@acme.test", "sales")
    assert (await sales.get("/console/users")).status_code == 403
    forbidden = await sales.post(
        "/console/users", data={"email": "z@acme.test", "role": "admin", "csrf": sales_csrf}
    )
    assert forbidden.status_code == 403 and "lacks the scope" in forbidden.text

    trail = [(r.actor, r.action, r.subject, r.detail) for r in await people.audit()]
    assert ("root@acme.test", "user.added", "nao@acme.test", {"role": "sales", "via": "console"}) in trail
    assert ("root@acme.test", "user.disabled", "nao@acme.test", {"via": "console"}) in trail
    assert ("root@acme.test", "user.enabled", "nao@acme.test", {"via": "console"}) in trail
    changed = {"role": "marketing", "was": "sales", "via": "console"}
    assert ("root@acme.test", "user.role_changed", "nao@acme.test", changed) in trail
    roles = [t for t in trail if t[1] == "user.role_changed"]
    assert len(roles) == 1, roles  # the refused changes changed nothing
    assert not any(t[2] in ("x@acme.test", "z@acme.test", "y@acme.test") for t in trail)


async def test_behind_a_trusted_proxy_the_forwarded_address_scheme_and_host_are_used(
    people_app: PeopleFactory, provider: Provider
) -> None:
    forwarded = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https"}
    forwarded["X-Forwarded-Host"] = "leadstate.acme.test"
    settings = oidc_settings(provider.url, oidc_default_role="sales")
    async with people_app(**settings, trusted_proxies=("127.0.0.1",)) as people:
        await people.add("ona@acme.test", "sales")
        browser = people.browser()
        form = await browser.get("/console/login")
        fields = {"email": "ona@acme.test", "password": PASSWORD, "csrf": csrf_of(form.text)}
        headers = {"X-Forwarded-For": forwarded["X-Forwarded-For"]}
        assert (
            await browser.post("/console/login/password", data=fields, headers=headers)
        ).status_code == 303
        leaving = await people.browser().get("/console/login/oidc", headers=forwarded)
        assert query(leaving.headers["location"])["redirect_uri"] == (
            "https://leadstate.acme.test/console/login/oidc/callback"
        )
        assert "secure" in leaving.headers["set-cookie"].lower()
        [login] = [r for r in await people.audit() if r.action == "user.login"]
        assert login.address == "203.0.113.7"  # the rightmost address the proxy did not add itself

    async with people_app(**settings) as people:  # no proxy trusted: the headers are anyone's words
        await people.add("ola@acme.test", "sales")
        browser = people.browser()
        form = await browser.get("/console/login")
        fields = {"email": "ola@acme.test", "password": PASSWORD, "csrf": csrf_of(form.text)}
        assert (
            await browser.post("/console/login/password", data=fields, headers=forwarded)
        ).status_code == 303
        leg = await leave_for_provider(people.browser())
        assert query(leg.authorize)["redirect_uri"] == f"{people.url}/console/login/oidc/callback"
        [login] = [
            r for r in await people.audit() if r.action == "user.login" and r.subject == "ola@acme.test"
        ]
        assert login.address == "127.0.0.1"
