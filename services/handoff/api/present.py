"""Rows of the projection as the API shows them: explanation, age and SLA state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from services.common.policy.timemath import aware

from ..policy import HandoffPolicy
from ..rows import show_each
from .schemas import Decision, Lead, LeadMql, MqlItem


def mql_fields(
    row: Row, policy: HandoffPolicy, *, now: datetime, decided_at: datetime | None
) -> dict[str, Any]:
    data = row.data
    return {
        "lead_id": row.lead_id,
        "mql_id": row.mql_id,
        "episode": row.episode,
        "rule": data["rule"],
        "reasons": data["reasons"],
        "next_checks": data["next_checks"],
        "next_checks_texts": data.get("next_checks_texts") or [],  # absent in MQLs made before languages
        "interests": data["interests"],
        "attributes": data["attributes"],
        "identities": data["identities"],
        "score": data["score"],
        "policy_version": row.policy_version,
        **sla_fields(row, policy, now=now, decided_at=decided_at),
    }


def sla_fields(
    row: Row, policy: HandoffPolicy, *, now: datetime, decided_at: datetime | None
) -> dict[str, Any]:
    """When a qualification (MQL or MQA) was made, its age and where it stands against the SLA."""
    qualified_at = aware(row.qualified_at)
    due = policy.clock.due(qualified_at)
    return {
        "qualified_at": qualified_at,
        "age_s": max(0.0, ((decided_at or now) - qualified_at).total_seconds()),
        "sla_due_at": due,
        "sla_state": policy.clock.state(due, at=decided_at or now),
    }


def mql_item(row: Row, policy: HandoffPolicy, now: datetime) -> MqlItem:
    return MqlItem(**mql_fields(row, policy, now=now, decided_at=None))


def inbox_items(rows: list[Row], policy: HandoffPolicy, now: datetime) -> list[MqlItem]:
    """The page's MQLs, each checked against the API's shape; a row that fails it is skipped (rows.py)."""
    return show_each(rows, lambda r: mql_item(r, policy, now), view="inbox", key=lambda r: str(r.mql_id))


def lead_mql(row: Row, decision: Row | None, policy: HandoffPolicy, now: datetime) -> LeadMql:
    decided_at = decision.decided_at if decision is not None else None
    return LeadMql(
        **mql_fields(row, policy, now=now, decided_at=decided_at),
        decision=Decision.model_validate(decision.data) if decision is not None else None,
    )


def lead_view(
    lead_id: str, history: list[tuple[Row, Row | None]], policy: HandoffPolicy, now: datetime
) -> Lead:
    """A lead from its (non-empty) MQL history, newest episode first: the API's answer, the console's page.

    An MQL (or decision) whose stored data it cannot show is left out (rows.py); the lead still answers.
    """
    _, latest_decision = history[0]
    open_mql = next((m for m, d in history if d is None), None)
    shown = show_each(
        history, lambda pair: lead_mql(*pair, policy, now), view="lead", key=lambda pair: str(pair[0].mql_id)
    )
    return Lead(
        lead_id=lead_id,
        stage="mql" if latest_decision is None else latest_decision.outcome,
        open_mql_id=open_mql.mql_id if open_mql is not None else None,
        identities=shown[0].identities if shown else {},
        attributes=shown[0].attributes if shown else {},
        mqls=shown,
    )
