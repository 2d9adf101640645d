"""A lead's timeline from the event log (qualifier.events) with its score after each event, served by
GET /v1/leads/{lead_id}/timeline (the handoff's lead page shows it).

The score is the qualifier's own fold (its stitching Ledger and scoring) over the lead's stored events, in
the order the worker applied them: the anonymous part is included because stitching moved those events
to the lead. An event the fold cannot read (planted, from an old version) is skipped, logged and counted,
never the whole timeline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.policy import Policy
from services.common.policy.scoring import score_at
from services.common.policy.timemath import aware

from .eventlog import DECISION_KIND, from_row
from .stitching import Ledger
from .tables import events

log = logging.getLogger(__name__)
UNREADABLE = Counter(
    "leadstate_qualifier_timeline_skipped_events_total",
    "Stored events a lead's timeline skipped because the fold could not read them (each also logged)",
)

MAX_EVENTS = 2000  # a page, not an export: the newest are kept


@dataclass(frozen=True, kw_only=True)
class TimelineEvent:
    time: datetime
    kind: str
    text: str
    params: dict[str, str]  # what `text` says, as data: a consumer words it in its reader's language
    anonymous: bool  # before the lead identified itself (stitched to it since)
    score: float | None


async def lead_timeline(session: AsyncSession, lead_id: str, policy: Policy) -> list[TimelineEvent]:
    e = events.c
    newest = (
        select(e.event_id, e.type, e.data, e.occurred_at, e.user_id, e.seq)
        .where(e.lead_id == lead_id)
        .order_by(e.seq.desc())
        .limit(MAX_EVENTS)
        .subquery()
    )
    rows = (await session.execute(select(newest).order_by(newest.c.seq))).all()
    ledger = Ledger(policy)

    def fold(row: Any) -> TimelineEvent:
        entry = from_row(row.event_id, row.type, row.data, aware(row.occurred_at))
        ledger.fold(entry.entry)
        applied = ledger.applied[-1].lead_id
        state = ledger.states.get(ledger.resolve(applied)) if applied else None
        score = score_at(state.scores, policy, entry.time) if state is not None else None
        return TimelineEvent(
            time=aware(row.occurred_at),
            kind=row.type,
            text=describe_event(row.type, entry.name, row.data),
            params=event_params(row.type, entry.name, row.data),
            anonymous=row.type != DECISION_KIND and row.user_id is None,
            score=score,
        )

    shown = []
    for row in rows:
        try:
            shown.append(fold(row))
        except Exception as exc:  # one event's data is that event's problem, not the timeline's
            UNREADABLE.inc()
            log.error(
                "timeline of a lead: skipped event %s (%s: %.200s)", row.event_id, type(exc).__name__, exc
            )
    return shown


def event_params(kind: str, name: str | None, data: dict[str, Any]) -> dict[str, str]:
    """The parts of an event's text by name (only those it has), for the console's languages:
    a decision's `outcome`, `reason` (code), `reason_label`, `by`; a page's `title`, `path`; an identify's
    `first_name`, `last_name`, `who` (email or user id), `title`, `company` (names apart: Japanese writes
    the family name first); any other event's `event` (its name), `detail`, `topic` (the topic id)."""
    props = data.get("properties") or {}
    if kind == DECISION_KIND:
        reason = data.get("reason") or {}
        found = {
            "outcome": data.get("outcome"),
            "reason": reason.get("code"),
            "reason_label": reason.get("label"),
            "by": data.get("decided_by"),
        }
    elif kind == "page":
        found = {"title": props.get("title") or name, "path": props.get("path")}
    elif kind == "identify":
        traits = data.get("traits") or {}
        found = {k: traits.get(k) for k in ("first_name", "last_name", "title", "company")}
        found["who"] = traits.get("email") or data.get("userId")
    else:
        detail = props.get("title") or props.get("asset_id") or props.get("seminar_id")
        found = {"event": name or kind, "detail": detail, "topic": props.get("topic")}
    # stored data comes from many websites: only plain values, as text, bounded
    return {k: str(v)[:500] for k, v in found.items() if isinstance(v, str | int | float) and v != ""}


def describe_event(kind: str, name: str | None, data: dict[str, Any]) -> str:
    props = data.get("properties") or {}
    if kind == DECISION_KIND:
        reason = (data.get("reason") or {}).get("label", "")
        return f"Sales decision: {data.get('outcome')} ({reason}) by {data.get('decided_by')}"
    if kind == "page":
        return f"Viewed {props.get('title') or name or ''} {props.get('path') or ''}".strip()
    if kind == "identify":
        traits = data.get("traits") or {}
        who = " ".join(str(traits[k]) for k in ("first_name", "last_name") if traits.get(k))
        extra = ", ".join(str(traits[k]) for k in ("title", "company") if traits.get(k))
        return f"Identified as {who or traits.get('email') or data.get('userId')}" + (
            f" ({extra})" if extra else ""
        )
    detail = props.get("title") or props.get("asset_id") or props.get("seminar_id") or ""
    topic = f" on {props['topic']}" if props.get("topic") else ""
    return f"{name or kind}: {detail}{topic}".strip().rstrip(":")
