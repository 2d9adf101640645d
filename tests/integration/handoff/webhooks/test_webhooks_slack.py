"""A `format: slack` endpoint gets a readable chat message per new MQL, from the MQL's own data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.handoff.webhooks.reminders import queue_reminders
from services.handoff.webhooks.slack import SlackCard
from tests.integration.handoff.data import mql_envelope
from tests.integration.handoff.webhooks.conftest import HooksFactory
from tests.integration.handoff.webhooks.receiver import Receiver, running_receiver
from tests.support import ROOT, publish, wait_until


async def first_message(receiver: Receiver) -> tuple[dict[str, Any], str]:
    """The first chat message the receiver accepted, and its card's text."""

    async def one() -> bool:
        return len(receiver.accepted()) >= 1

    await wait_until(one, timeout_s=30, what="the chat message")
    message = receiver.accepted()[0].envelope()
    return message, message["blocks"][0]["text"]["text"]


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
        message, text = await first_message(receiver)
        assert message["text"].startswith("New MQL: lead-<chat>@example.com")
        assert (
            "lead-&lt;chat&gt;@example.com (Marketing Manager, software, 120)" in text
        )  # escaped for mrkdwn
        assert "*Rule:* seminar-attendee" in text
        assert "• Attended the seminar 'MQL design in practice' on lead management" in text
        assert "*Check first:* Ask which part of the seminar matched a problem they have today." in text
        due = qualified + timedelta(hours=hooks.app.state.handoff.policy.decision_hours)
        tokyo = due.astimezone(ZoneInfo("Asia/Tokyo"))  # LEADSTATE_TIMEZONE's default
        assert f"*Decide by:* {tokyo.day} {tokyo:%b %Y %H:%M} JST" in text
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


async def test_the_chat_message_speaks_the_deployments_language_and_clock(hooks_app: HooksFactory) -> None:
    """LEADSTATE_DEFAULT_LANGUAGE=ja: the words, the reasons (from their codes, topics by their Japanese
    labels), the first next check and the due time in LEADSTATE_TIMEZONE, all in Japanese."""
    receiver = Receiver()
    settings = {"default_language": "ja", "policy_path": ROOT / "policies" / "default.yaml"}
    async with (
        running_receiver(receiver),
        hooks_app(webhook_allow_private=True, console_url="https://leads.example.com", **settings) as hooks,
    ):
        await hooks.register(receiver.url, format="slack")
        qualified = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # 18:30 in Tokyo
        event = mql_envelope("lead-ja", qualified_at=qualified)
        seminar = {"name": "MQL設計の実践", "topic": "lead-management", "day": "2026-12-01"}
        event.data["reasons"][0].update(code="seminar_attended", params={"items": [seminar]})
        event.data["next_checks_texts"] = [
            {"ja": "セミナーのどの部分が今の課題に当てはまったかを聞く", "en": "Ask which part matched."}
        ]
        await publish(hooks.bootstrap, hooks.topics.mql, [event])
        message, text = await first_message(receiver)
        assert message["text"] == (
            "新しいMQL：lead-ja@example.com（Marketing Manager、ソフトウェア、従業員120名）"
            "（seminar-attendee）"
        )
        assert "*ルール：* seminar-attendee" in text
        assert "• 2026年12月1日にセミナー「MQL設計の実践」（リード管理とMQL設計）に参加" in text
        assert "*最初の確認事項：* セミナーのどの部分が今の課題に当てはまったかを聞く" in text
        due = hooks.app.state.handoff.policy.clock.due(qualified).astimezone(ZoneInfo("Asia/Tokyo"))
        assert f"*判定期限：* {due.year}年{due.month}月{due.day}日 {due:%H:%M} JST" in text
        assert "<https://leads.example.com/console/leads/lead-ja|コンソールでカードを開く>" in text
        for english in ("New MQL", "Rule:", "Check first", "Decide by", "Attended", "UTC"):
            assert english not in text, english
