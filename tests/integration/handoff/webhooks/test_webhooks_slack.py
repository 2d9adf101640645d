"""A `format: slack` endpoint gets a readable chat message per new MQL, from the MQL's own data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
        due = qualified + timedelta(hours=hooks.app.state.policy.decision_hours)
        assert f"*Decide by:* {due:%Y-%m-%d %H:%M} UTC" in text
        assert (
            "<https://leads.example.com/console/leads/lead-%3Cchat%3E|Open the card in the console>" in text
        )
