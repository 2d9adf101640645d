"""Personal accounts: added on the command line with a one-time link, signed in through the console's
form, decisions attributed to the signed-in person (never a typed name), everything audited."""

from __future__ import annotations

from sqlalchemy import select, text, update

from services.handoff.tables import console_sessions, decisions
from tests.conftest import API_KEY_ALL, API_KEY_READ
from tests.integration.console.conftest import csrf_of
from tests.integration.people.conftest import LINK, PASSWORD, People


async def test_a_person_added_on_the_cli_sets_a_password_and_decides_under_their_own_name(
    people: People,
) -> None:
    code, out, err = await people.cli("users", "add", "Mika.Ito@Example.com", "--role", "sales")
    assert code == 0, err
    link = LINK.search(out)
    assert link, out
    assert (await people.cli("users", "add", "mika.ito@example.com", "--role", "sales"))[0] == 1
    bad_role = await people.cli("users", "add", "x@example.com", "--role", "boss")
    assert bad_role[0] == 1 and "unknown role 'boss'; roles: sales, marketing, admin" in bad_role[2]

    await people.add_mql("lead-p1")
    async with people.browser() as browser:
        path = link.group(1).removeprefix(people.url)
        form = await browser.get(path)
        assert form.status_code == 200 and "mika.ito@example.com" in form.text
        token = path.split("token=")[1]
        forged = await browser.post(
            "/console/set-password", data={"token": token, "password": PASSWORD, "repeat": PASSWORD}
        )
        assert forged.status_code == 422 and "This form expired" in forged.text  # no CSRF token
        short = await browser.post(
            "/console/set-password",
            data={"token": token, "password": "short", "repeat": "short", "csrf": csrf_of(forged.text)},
        )
        assert short.status_code == 422 and "12 to 1024 characters" in short.text
        fields = {"token": token, "password": PASSWORD, "repeat": PASSWORD}
        answer = await browser.post("/console/set-password", data={**fields, "csrf": csrf_of(short.text)})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/inbox"
        other = people.browser()  # a valid form token, a spent link
        fresh = csrf_of((await other.get("/console/login")).text)
        reused = await other.post("/console/set-password", data={**fields, "csrf": fresh})
        assert reused.status_code == 422 and "used already or expired" in reused.text
        assert (await browser.get(path)).status_code == 404

        inbox = await browser.get("/console/inbox")
        assert inbox.status_code == 200 and "mika.ito@example.com" in inbox.text
        assert 'name="name"' not in inbox.text  # nobody types who decides
        assert "/console/funnel" not in inbox.text and "/console/audit" not in inbox.text  # sales' pages only
        csrf = csrf_of(inbox.text)
        decided = await browser.post(
            "/console/leads/lead-p1/decision",
            data={
                "csrf": csrf,
                "outcome": "sql",
                "reason": "problem_confirmed",
                "decided_by": "Someone Else",
            },
        )
        assert decided.status_code == 303, decided.text
        lead = await browser.get("/console/leads/lead-p1")
        assert "by mika.ito@example.com" in lead.text

    async with people.app.state.handoff.database.engine.connect() as conn:
        assert await conn.scalar(select(decisions.c.decided_by)) == "mika.ito@example.com"
    trail = [(r.actor, r.action, r.subject) for r in await people.audit()]
    assert trail[0][1:] == ("user.added", "mika.ito@example.com") and trail[0][0].startswith("cli:")
    assert ("mika.ito@example.com", "user.password_set", "mika.ito@example.com") in trail
    assert ("mika.ito@example.com", "user.login", "mika.ito@example.com") in trail
    [decision] = [r for r in await people.audit() if r.action == "decision.recorded"]
    assert decision.actor == "mika.ito@example.com" and decision.address == "127.0.0.1"
    assert decision.detail["decided_by"] == "mika.ito@example.com"

    async with people.browser() as api:
        listed = await api.get("/v1/audit", headers={"Authorization": f"Bearer {API_KEY_ALL}"})
        assert listed.status_code == 200
        assert listed.json()["items"][0]["action"] == "decision.recorded"  # newest first
        refused = await api.get("/v1/audit", headers={"Authorization": f"Bearer {API_KEY_READ}"})
        assert refused.status_code == 403 and refused.json()["required_scope"] == "audit:read"
        bad = await api.get("/v1/audit?action=nope", headers={"Authorization": f"Bearer {API_KEY_ALL}"})
        assert bad.status_code == 422 and "action" in bad.text
        huge = await api.get(f"/v1/audit?before={2**70}", headers={"Authorization": f"Bearer {API_KEY_ALL}"})
        assert huge.status_code == 422 and "before" in huge.text  # beyond a bigint: refused, not a 500

    async with people.app.state.handoff.database.engine.begin() as conn:
        try:
            await conn.execute(text("UPDATE handoff.audit SET actor = 'someone else'"))
            raise AssertionError("the audit trail accepted a change")
        except Exception as exc:  # the trigger refuses
            assert "append-only" in str(exc)


async def test_disabling_a_person_ends_their_open_session_on_the_next_request(people: People) -> None:
    browser, _ = await people.signed_in("leaver@example.com", "sales")
    assert (await browser.get("/console/inbox")).status_code == 200
    code, out, err = await people.cli("users", "disable", "leaver@example.com")
    assert code == 0 and "sessions have ended" in out, err
    after = await browser.get("/console/inbox")
    assert after.status_code == 303 and after.headers["location"].startswith("/console/login")
    again = await people.sign_in(browser, "leaver@example.com")
    assert again.status_code == 401 and "Wrong email or password." in again.text
    listed = await people.cli("users", "list")
    assert "leaver@example.com\tsales\tdisabled" in listed[1]
    assert ("user.disabled", "leaver@example.com") in [(r.action, r.subject) for r in await people.audit()]


async def test_a_role_change_applies_to_an_open_session_and_a_disabled_person_can_be_enabled(
    people: People,
) -> None:
    browser, _ = await people.signed_in("mover@example.com", "sales")
    assert (await browser.get("/console/funnel")).status_code == 403
    code, out, err = await people.cli("users", "role", "mover@example.com", "marketing")
    assert code == 0 and "mover@example.com is now marketing (was sales)" in out, err
    assert (await browser.get("/console/funnel")).status_code == 200  # the same session, the new role
    assert (await browser.get("/console/inbox")).status_code == 403
    bad = await people.cli("users", "role", "mover@example.com", "boss")
    assert bad[0] == 1 and "unknown role 'boss'" in bad[2]
    nobody = await people.cli("users", "enable", "nobody@example.com")
    assert nobody[0] == 1 and "no account for 'nobody@example.com'" in nobody[2]

    assert (await people.cli("users", "disable", "mover@example.com"))[0] == 0
    assert (await people.sign_in(people.browser(), "mover@example.com")).status_code == 401
    code, out, err = await people.cli("users", "enable", "mover@example.com")
    assert code == 0 and "mover@example.com (marketing) is active again" in out, err
    again = people.browser()
    assert (await people.sign_in(again, "mover@example.com")).status_code == 303  # the old password
    assert (await again.get("/console/funnel")).status_code == 200
    assert "mover@example.com\tmarketing\tactive" in (await people.cli("users", "list"))[1]
    trail = [(r.action, r.detail) for r in await people.audit() if r.subject == "mover@example.com"]
    assert ("user.role_changed", {"role": "marketing", "was": "sales"}) in trail
    states = [action for action, _ in trail if action in ("user.disabled", "user.enabled")]
    assert states == ["user.disabled", "user.enabled"]


async def test_logout_everywhere_ends_every_session_and_idle_sessions_end(people: People) -> None:
    first, csrf = await people.signed_in("two.tabs@example.com", "marketing")
    second = people.browser()  # closed by the fixture
    assert (await people.sign_in(second, "two.tabs@example.com")).status_code == 303
    assert (await second.get("/console/funnel")).status_code == 200
    answer = await first.post("/console/logout-everywhere", data={"csrf": csrf})
    assert answer.status_code == 303
    assert (await second.get("/console/funnel")).status_code == 303  # the other session ended too

    assert (await people.sign_in(second, "two.tabs@example.com")).status_code == 303
    assert (await second.get("/console/funnel")).status_code == 200
    # the session unused for longer than the idle limit
    async with people.app.state.handoff.database.engine.begin() as conn:
        await conn.execute(update(console_sessions).values(last_seen_at=text("now() - interval '2 hours'")))
    assert (await second.get("/console/funnel")).status_code == 303


async def test_roles_decide_pages_and_actions(people: People) -> None:
    sales, sales_csrf = await people.signed_in("sales@example.com", "sales")
    marketing, marketing_csrf = await people.signed_in("marketing@example.com", "marketing")
    admin, _ = await people.signed_in("admin@example.com", "admin")
    funnel = await sales.get("/console/funnel")
    assert (
        funnel.status_code == 403
        and "Your role (sales) lacks the scope &#39;reports:read&#39;" in funnel.text
    )
    assert (await sales.get("/console/audit")).status_code == 403
    assert (await marketing.get("/console/funnel")).status_code == 200
    assert (await marketing.get("/console/inbox")).status_code == 403
    refused = await marketing.post(
        "/console/leads/lead-x/decision",
        data={"csrf": marketing_csrf, "outcome": "sql", "reason": "problem_confirmed"},
    )
    assert refused.status_code == 403 and "Your role (marketing) lacks" in refused.text
    page = await admin.get("/console/audit")
    assert page.status_code == 200 and "sales@example.com" in page.text and "user.login" in page.text
    assert sales_csrf  # the sales session is a real one: it only lacks the scope
