"""Chat alerts: a lead.mql event as a Slack incoming-webhook message (Mattermost, Rocket.Chat and Teams
workflow connectors take the same JSON), read from the same MQL data as the inbox card: who, the rule,
the top reasons, the first next check, the SLA due time and a link to the console card.

A channel has many readers and no browser to ask, so a message speaks the deployment's language
(LEADSTATE_DEFAULT_LANGUAGE) with its times in LEADSTATE_TIMEZONE. The reasons are rendered from their
codes and the next check taken from the event's per-language texts, as the console does; the few words
of the message itself are in `WORDS` below (not the console's catalog: no page shows them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import orjson

from services.common.policy.model import in_language
from services.common.policy.reasons import INDUSTRIES_JA, render_reason

from ..dates import local_time
from ..sla import SlaClock

TOP_REASONS = 3


WORDS = {
    "en": {
        "new": "New MQL:",
        "due_soon": "Decision due soon:",
        "rule": "Rule:",
        "check": "Check first:",
        "by": "Decide by:",
        "open": "Open the card in the console",
        "summary_new": "New MQL: {who} ({rule})",
        "summary_due": "Decision due soon: {who} (by {due})",
        "employees": "{count}",
        "test": "leadstate test message: new MQLs will be posted here.",
    },
    "ja": {
        "new": "新しいMQL：",
        "due_soon": "判定期限が近づいています：",
        "rule": "ルール：",
        "check": "最初の確認事項：",
        "by": "判定期限：",
        "open": "コンソールでカードを開く",
        "summary_new": "新しいMQL：{who}（{rule}）",
        "summary_due": "判定期限が近づいています：{who}（期限 {due}）",
        "employees": "従業員{count}名",
        "test": "leadstate のテストメッセージです。新しいMQLはこのチャンネルに届きます。",
    },
}


@dataclass(frozen=True)
class SlackCard:
    clock: SlaClock  # when an MQL is due: the policy's decision SLA, in working hours if it says so
    console_url: str | None  # the handoff's public address (the console is under /console)
    language: str = "en"  # LEADSTATE_DEFAULT_LANGUAGE
    zone: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))  # LEADSTATE_TIMEZONE
    topics: Mapping[str, str] = field(default_factory=dict)  # the policy's topic labels

    def says(self, word: str, **values: Any) -> str:
        return WORDS.get(self.language, WORDS["en"])[word].format(**values)

    def when(self, at: datetime) -> str:
        return f"{local_time(at, self.zone, self.language)} {at.astimezone(self.zone).tzname()}"


def chat_test_message(language: str) -> bytes:
    """What `POST /v1/webhooks/{id}/test` sends a chat endpoint."""
    return orjson.dumps({"text": WORDS.get(language, WORDS["en"])["test"]})


def _who(data: dict[str, Any], card: SlackCard) -> str:
    identities = data.get("identities") or {}
    attributes = data.get("attributes") or {}
    name = identities.get("email") or identities.get("user_id") or data.get("lead_id", "a lead")
    about = [str(attributes[k]) for k in ("title", "industry", "company_size") if attributes.get(k)]
    if card.language == "ja":
        about = [str(attributes["title"])] if attributes.get("title") else []
        if attributes.get("industry"):
            about.append(INDUSTRIES_JA.get(str(attributes["industry"]), str(attributes["industry"])))
        if attributes.get("company_size"):
            about.append(card.says("employees", count=attributes["company_size"]))
        return f"{name}（{'、'.join(about)}）" if about else str(name)
    return f"{name} ({', '.join(about)})" if about else str(name)


def _escape(value: str) -> str:
    # Slack's mrkdwn treats these three as control characters; everything else is literal text
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(data: dict[str, Any], card: SlackCard) -> str | None:
    if not card.console_url:
        return None
    lead = quote(str(data.get("lead_id", "")), safe="")
    return f"<{card.console_url.rstrip('/')}/console/leads/{lead}|{card.says('open')}>"


def _first_check(data: dict[str, Any], language: str) -> str | None:
    checks = data.get("next_checks") or []
    if not checks:
        return None
    texts = data.get("next_checks_texts") or []
    given = texts[0].get(language) if texts and isinstance(texts[0], Mapping) else None
    return given if isinstance(given, str) and given else str(checks[0])


def _message(summary: str, lines: list[str]) -> bytes:
    return orjson.dumps(
        {
            "text": summary,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}],
        }
    )


def render_reminder(data: dict[str, Any], card: SlackCard) -> bytes:
    """An MQL due soon and still undecided: who, the rule, when it is due."""
    rule = data.get("rule") or {}
    due = card.when(card.clock.due(datetime.fromisoformat(data["qualified_at"])))
    who = _who(data, card)
    lines = [
        f"*{card.says('due_soon')}* {_escape(who)}",
        f"*{card.says('rule')}* {_escape(str(rule.get('name', '?')))}",
        f"*{card.says('by')}* {due}",
    ]
    link = _link(data, card)
    return _message(card.says("summary_due", who=who, due=due), lines + ([link] if link else []))


def render_mql(data: dict[str, Any], card: SlackCard) -> bytes:
    rule = data.get("rule") or {}
    topics = {t: in_language(label, card.language) for t, label in card.topics.items()}
    reasons = [
        render_reason(r, card.language, topics)
        for r in (data.get("reasons") or [])[:TOP_REASONS]
        if isinstance(r, Mapping)
    ]
    check = _first_check(data, card.language)
    due = card.when(card.clock.due(datetime.fromisoformat(data["qualified_at"])))
    who = _who(data, card)
    lines = [
        f"*{card.says('new')}* {_escape(who)}",
        f"*{card.says('rule')}* {_escape(str(rule.get('name', '?')))}",
        *(f"• {_escape(text)}" for text in reasons),
    ]
    if check:
        lines.append(f"*{card.says('check')}* {_escape(check)}")
    lines.append(f"*{card.says('by')}* {due}")
    link = _link(data, card)
    summary = card.says("summary_new", who=who, rule=rule.get("name", "?"))
    return _message(summary, lines + ([link] if link else []))
