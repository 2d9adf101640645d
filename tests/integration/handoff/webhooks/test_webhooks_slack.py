"""A `format: slack` endpoint gets a readable chat message per new MQL, from the MQL's own data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.handoff.webhooks.reminders import queue_reminders
from services.handoff.webhooks.slack import SlackCard
from tests.integration.handoff.data import mql_envelope
from tests.integration.handoff.webhooks.conftest import HooksFactory
from tests.integration.handoff.webhooks.receiver import Receiver, running_receiver
from tests.support import publish, wait_until


async def test_a_new_mql_becomes_one_chat_message_with_who_why_what_next_and_when(
    hooks_app: HooksFactory,
) -> None:
    receiver = Receiver()
    async with (
        running_receiver(receiver),
        hooks_app(webhook_allow_private=True, console_url="https://leads.example.com") as hooks,
    ):
        await hooks.register(receiver.url, format="slack")
        qualified = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
        event = mql_envelope("lead-<chat>", qualified_at=qualified, rule="seminar-attendee")
        await publish(hooks.bootstrap, hooks.topics.mql, [event])

        async def one() -> bool:
            return len(receiver.accepted()) >= 1

        await wait_until(one, timeout_s=30, what="the chat message")
        message = receiver.accepted()[0].envelope()
        text = message["blocks"][0]["text"]["text"]
        assert message["text"].startswith("New MQL: lead-<chat>@example.com")
        assert (
            "lead-&lt;chat&gt;@example.com (Marketing Manager, software, 120)" in text
        )  # escaped for mrkdwn
        assert "*Rule:* seminar-attendee" in text
        assert "• Attended the seminar 'MQL design in practice' on lead management" in text
        assert "*Check first:* Ask which part of the seminar matched a problem they have today." in text
        due = qualified + timedelta(hours=hooks.app.state.handoff.policy.decision_hours)
        assert f"*Decide by:* {due:%Y-%m-%d %H:%M} UTC" in text
        assert (
            "<https://leads.example.com/console/leads/lead-%3Cchat%3E|Open the card in the console>" in text
        )


async def test_an_mql_due_soon_and_undecided_gets_one_reminder_after_its_alert(
    hooks_app: HooksFactory,
) -> None:
    receiver = Receiver()
    async with (
        running_receiver(receiver),
        hooks_app(webhook_allow_private=True, webhook_sla_check_s=0.2) as hooks,
    ):
        await hooks.register(receiver.url, format="slack")
        policy = hooks.app.state.handoff.policy
        due_in_h = policy.due_soon_hours / 2
        urgent = mql_envelope(
            "lead-urgent", qualified_at=datetime.now(UTC) - timedelta(hours=policy.decision_hours - due_in_h)
        )
        fresh = mql_envelope("lead-fresh", qualified_at=datetime.now(UTC) - timedelta(hours=1))
        await publish(hooks.bootstrap, hooks.topics.mql, [urgent, fresh])

        async def three() -> bool:
            return len(receiver.accepted()) >= 3

        await wait_until(three, timeout_s=30, what="two alerts and one reminder")
        urgent_texts = [
            r.envelope()["text"] for r in receiver.accepted() if "lead-urgent" in r.envelope()["text"]
        ]
        assert urgent_texts[0].startswith("New MQL:") and urgent_texts[1].startswith("Decision due soon:")
        assert f"sla-reminder:{urgent.data['mql_id']}" in receiver.accepted_ids()
        # once only, and none for the MQL that is not due soon
        async with hooks.app.state.handoff.database.sessions() as session, session.begin():
            again = await queue_reminders(
                session,
                now=datetime.now(UTC),
                card=SlackCard(clock=policy.clock, console_url=None),
                window=timedelta(hours=1),
            )
        assert again == 0
        assert sum("lead-fresh" in r.envelope()["text"] for r in receiver.accepted()) == 1
