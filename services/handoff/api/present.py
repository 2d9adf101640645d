"""Rows of the projection as the API shows them: explanation, age and SLA state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row

from ..policy import HandoffPolicy
from ..sla import due_at, sla_state
from .schemas import Decision, LeadMql, MqlItem


def mql_fields(
    row: Row, policy: HandoffPolicy, *, now: datetime, decided_at: datetime | None
) -> dict[str, Any]:
    data = row.data
    due = due_at(row.qualified_at, policy.decision_hours)
    return {
        "lead_id": row.lead_id,
        "mql_id": row.mql_id,
        "episode": row.episode,
        "rule": data["rule"],
        "reasons": data["reasons"],
        "next_checks": data["next_checks"],
        "interests": data["interests"],
        "attributes": data["attributes"],
        "identities": data["identities"],
        "score": data["score"],
        "policy_version": row.policy_version,
        "qualified_at": row.qualified_at,
        "age_s": max(0.0, ((decided_at or now) - row.qualified_at).total_seconds()),
        "sla_due_at": due,
        "sla_state": sla_state(due, at=decided_at or now, due_soon_hours=policy.due_soon_hours),
    }


def mql_item(row: Row, policy: HandoffPolicy, now: datetime) -> MqlItem:
    return MqlItem(**mql_fields(row, policy, now=now, decided_at=None))


def lead_mql(row: Row, decision: Row | None, policy: HandoffPolicy, now: datetime) -> LeadMql:
    decided_at = decision.decided_at if decision is not None else None
    return LeadMql(
        **mql_fields(row, policy, now=now, decided_at=decided_at),
        decision=Decision.model_validate(decision.data) if decision is not None else None,
    )
