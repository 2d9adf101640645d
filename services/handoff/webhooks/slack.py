"""Chat alerts: a lead.mql event as a Slack incoming-webhook message (Mattermost, Rocket.Chat and Teams
workflow connectors take the same JSON), read from the same MQL data as the inbox card: who, the rule,
the top reasons, the first next check, the SLA due time and a link to the console card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson

from ..sla import SlaClock

TOP_REASONS = 3


@dataclass(frozen=True)
class SlackCard:
    clock: SlaClock  # when an MQL is due: the policy's decision SLA, in working hours if it says so
    console_url: str | None  # the handoff's public address (the console is under /console)


def _who(data: dict[str, Any]) -> str:
    identities = data.get("identities") or {}
    attributes = data.get("attributes") or {}
    name = identities.get("email") or identities.get("user_id") or data.get("lead_id", "a lead")
    about = ", ".join(str(attributes[k]) for k in ("title", "industry", "company_size") if attributes.get(k))
    return f"{name} ({about})" if about else str(name)


def _escape(value: str) -> str:
    # Slack's mrkdwn treats these three as control characters; everything else is literal text
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(data: dict[str, Any], card: SlackCard) -> str | None:
    if not card.console_url:
        return None
    lead = quote(str(data.get("lead_id", "")), safe="")
    return f"<{card.console_url.rstrip('/')}/console/leads/{lead}|Open the card in the console>"


def render_reminder(data: dict[str, Any], card: SlackCard) -> bytes:
    """An MQL due soon and still undecided: who, the rule, when it is due."""
    rule = data.get("rule") or {}
    due = card.clock.due(datetime.fromisoformat(data["qualified_at"]))
    lines = [
        f"*Decision due soon:* {_escape(_who(data))}",
        f"*Rule:* {_escape(str(rule.get('name', '?')))}",
        f"*Decide by:* {due.strftime('%Y-%m-%d %H:%M UTC')}",
    ]
    link = _link(data, card)
    if link:
        lines.append(link)
    return orjson.dumps(
        {
            "text": f"Decision due soon: {_who(data)} (by {due.strftime('%Y-%m-%d %H:%M UTC')})",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}],
        }
    )


def render_mql(data: dict[str, Any], card: SlackCard) -> bytes:
    rule = data.get("rule") or {}
    reasons = [str(r.get("text", "")) for r in (data.get("reasons") or [])[:TOP_REASONS]]
    checks = data.get("next_checks") or []
    due = card.clock.due(datetime.fromisoformat(data["qualified_at"]))
    lines = [
        f"*New MQL:* {_escape(_who(data))}",
        f"*Rule:* {_escape(str(rule.get('name', '?')))}",
        *(f"• {_escape(text)}" for text in reasons),
    ]
    if checks:
        lines.append(f"*Check first:* {_escape(str(checks[0]))}")
    lines.append(f"*Decide by:* {due.strftime('%Y-%m-%d %H:%M UTC')}")
    link = _link(data, card)
    if link:
        lines.append(link)
    message = "\n".join(lines)
    return orjson.dumps(
        {
            "text": f"New MQL: {_who(data)} ({rule.get('name', '?')})",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": message}}],
        }
    )
