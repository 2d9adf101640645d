"""Deciding from an inbox card goes through record_decision: a row in handoff.decisions, an event on
lead.decisions, the card gone from the inbox and the reason in the funnel's chart."""

from __future__ import annotations

from sqlalchemy import select

from services.handoff.tables import decisions
from tests.conftest import API_KEY_ALL
from tests.integration.console.conftest import Console
from tests.support import read_envelopes


async def test_a_decision_from_the_card_is_recorded_published_and_counted(console: Console) -> None:
    await console.add_mqls("lead-decide", "lead-stays")
    async with console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL, name="Ken Mori")
        inbox = await browser.get("/console/inbox")
        assert inbox.status_code == 200
        assert (
            "Attended the seminar &#39;MQL design in practice&#39;" in inbox.text
        )  # the reason, with evidence
        assert "lead-decide@example.com" in inbox.text and 'class="decide"' in inbox.text
        before = await browser.get("/console/funnel")
        assert "No budget" not in before.text

        missing_csrf = await browser.post(
            "/console/leads/lead-decide/decision", data={"outcome": "rejected", "reason": "no_budget"}
        )
        assert missing_csrf.status_code == 403
        assert await console.decisions() == 0

        answer = await browser.post(
            "/console/leads/lead-decide/decision",
            data={
                "csrf": csrf,
                "outcome": "rejected",
                "reason": "no_budget",
                "note": "frozen until April",
                "form_id": "f-1",
                "back": "order=oldest&evil=1",
            },
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/inbox?order=oldest&decided=lead-decide"

        after = await browser.get(answer.headers["location"])
        assert "Decision recorded for" in after.text
        assert "lead-decide@example.com" not in after.text and "lead-stays@example.com" in after.text
        funnel = await browser.get("/console/funnel")
        assert "No budget" in funnel.text  # a bar of the not-SQL reasons chart
        lead = await browser.get("/console/leads/lead-decide")
        assert lead.status_code == 200 and "frozen until April" in lead.text and "Ken Mori" in lead.text

    async with console.app.state.handoff.database.engine.connect() as conn:
        row = (await conn.execute(select(decisions))).one()
    assert (row.lead_id, row.outcome, row.reason_code, row.decided_by) == (
        "lead-decide",
        "rejected",
        "no_budget",
        "Ken Mori",
    )
    [event] = await read_envelopes(console.bootstrap, console.topics.decisions, expect=1)
    assert event.type == "leadstate.lead.decision.v1"
    assert event.data["reason"] == {"code": "no_budget", "label": "No budget"}
    assert event.data["note"] == "frozen until April" and event.data["decided_by"] == "Ken Mori"


async def test_a_double_submit_records_one_decision(console: Console) -> None:
    await console.add_mqls("lead-twice")
    async with console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        form = {"csrf": csrf, "outcome": "sql", "reason": "problem_confirmed", "form_id": "same"}
        first = await browser.post("/console/leads/lead-twice/decision", data=form)
        second = await browser.post("/console/leads/lead-twice/decision", data=form)
        assert first.status_code == second.status_code == 303
        other_form = await browser.post(
            "/console/leads/lead-twice/decision", data={**form, "form_id": "another"}
        )
        assert other_form.status_code == 409 and "Already decided" in other_form.text
    assert await console.decisions() == 1


async def test_a_reason_must_fit_the_outcome(console: Console) -> None:
    await console.add_mqls("lead-mismatch")
    async with console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        answer = await browser.post(
            "/console/leads/lead-mismatch/decision",
            data={"csrf": csrf, "outcome": "sql", "reason": "no_budget"},
        )
        assert answer.status_code == 422 and "Problem confirmed" in answer.text
        no_outcome = await browser.post(
            "/console/leads/lead-mismatch/decision", data={"csrf": csrf, "reason": "no_budget"}
        )
        assert no_outcome.status_code == 422 and "Pick an outcome" in no_outcome.text
        long_note = await browser.post(
            "/console/leads/lead-mismatch/decision",
            data={"csrf": csrf, "outcome": "sql", "reason": "problem_confirmed", "note": "n" * 4001},
        )
        assert long_note.status_code == 422 and "4001 characters; at most 4000" in long_note.text
        unknown = await browser.post(
            "/console/leads/nobody/decision",
            data={"csrf": csrf, "outcome": "sql", "reason": "problem_confirmed"},
        )
        assert unknown.status_code == 404
    assert await console.decisions() == 0


async def test_filters_and_lead_pages_answer_clearly(console: Console) -> None:
    await console.add_mqls("lead-filter")
    async with console.browser() as browser:
        await console.login(browser, API_KEY_ALL)
        assert "lead-filter@example.com" in (await browser.get("/console/inbox?sla=ok")).text
        assert "lead-filter@example.com" not in (await browser.get("/console/inbox?sla=breached")).text
        assert "lead-filter@example.com" not in (await browser.get("/console/inbox?rule=other")).text
        bad = await browser.get("/console/inbox?sla=late")
        assert bad.status_code == 422 and "due_soon" in bad.text
        bad_cursor = await browser.get("/console/inbox?cursor=abc")
        assert bad_cursor.status_code == 400
        assert (await browser.get("/console/leads/nobody")).status_code == 404
        lead = await browser.get("/console/leads/lead-filter")
        assert (
            lead.status_code == 200
            and "Episode 1" in lead.text
            and "<svg" not in lead.text.split("Timeline")[1]
        )
        assert (await browser.get("/console/funnel?period=week")).status_code == 422
