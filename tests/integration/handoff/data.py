"""Envelopes shaped by contracts/events/lead.mql.v1.schema.json, for the handoff's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.common.envelope import Envelope, new_envelope

POLICY = Path(__file__).with_name("policy.yaml")  # reason codes problem_confirmed, no_budget, ...


def mql_data(
    lead_id: str,
    *,
    episode: int = 1,
    rule: str = "seminar-attendee",
    topic: str = "lead-management",
    policy_version: str = "2026.1",
    qualified_at: datetime | None = None,
) -> dict[str, Any]:
    at = qualified_at or datetime.now(UTC) - timedelta(hours=1)
    return {
        "mql_id": f"{lead_id}:{episode}",
        "lead_id": lead_id,
        "episode": episode,
        "identities": {"user_id": lead_id, "email": f"{lead_id}@example.com", "anonymous_ids": ["anon-1"]},
        "attributes": {"industry": "software", "title": "Marketing Manager", "company_size": 120},
        "policy_version": policy_version,
        "rule": {"name": rule, "description": "Attended a seminar; manager in a target industry."},
        "reasons": [
            {
                "text": "Attended the seminar 'MQL design in practice' on lead management",
                "evidence": [
                    {
                        "event_id": "ev-1",
                        "kind": "seminar_attended",
                        "seminar_id": "sem-mql-design",
                        "topic": topic,
                        "time": at.isoformat(),
                    }
                ],
            }
        ],
        "score": {"value": 27.5, "components": {"seminar_attended": 15.0, "content_download": 12.5}},
        "interests": [{"topic": topic, "label": topic.replace("-", " "), "weight": 0.8}],
        "next_checks": ["Ask which part of the seminar matched a problem they have today."],
        "qualified_at": at.isoformat(),
    }


def mql_envelope(lead_id: str, *, id_: str | None = None, **fields: Any) -> Envelope:
    data = mql_data(lead_id, **fields)
    return new_envelope(
        "leadstate.lead.mql.v1",
        data,
        source="qualifier",
        subject=lead_id,
        time=datetime.fromisoformat(data["qualified_at"]),
        id_=id_ or str(uuid.uuid4()),
    )


def mqa_envelope(
    account_id: str,
    *,
    episode: int = 1,
    qualified_at: datetime | None = None,
    rule: str = "buying-group-forming",
) -> Envelope:
    """An MQA as the qualifier writes it (contracts/events/account.mqa.v1.schema.json)."""
    at = qualified_at or datetime.now(UTC) - timedelta(hours=2)
    members = [
        {"lead_id": "ld-dir", "who": "Aiko (Director of Operations)", "roles": ["decision_maker"]},
        {"lead_id": "ld-mgr", "who": "Ben (Marketing Manager)", "roles": ["champion"]},
        {"lead_id": "ld-eng", "who": "Chie (Marketing Specialist)", "roles": ["user"]},
    ]
    evidence = [
        {
            "event_id": f"ev-{m['lead_id']}",
            "kind": "content_download",
            "topic": "lead-management",
            "time": at.isoformat(),
        }
        for m in members
    ]
    data = {
        "mqa_id": f"mqa-{account_id}-{episode}",
        "account_id": account_id,
        "episode": episode,
        "account": {
            "account_id": account_id,
            "name": "Acme Works",
            "domain": "acme.example",
            "attributes": {},
        },
        "policy_version": "2026.1",
        "rule": {"name": rule, "description": "Three people of a target company engaged."},
        "reasons": [
            {
                "code": "breadth",
                "params": {"count": 3},
                "text": "3 people engaged within 30 days",
                "evidence": evidence,
            },
            {
                "code": "shared_topic",
                "params": {"topic": "lead-management"},
                "text": "2 on lead-management",
                "evidence": evidence[:2],
            },
        ],
        "buying_group": {
            "present": [
                {"role": m["roles"][0], "label": m["roles"][0], "members": [m["lead_id"]]} for m in members
            ],
            "missing": [{"role": "budget_holder", "label": "budget holder"}],
            "text": "buying group: decision maker ✓, budget holder not yet seen, champion ✓, user ✓",
        },
        "members": [{**m, "engaged": True, "stage": "known", "episode": 0} for m in members],
        "next_checks": ["Ask the champion to introduce the budget holder."],
        "score": {"value": 28.4},
        "qualified_at": at.isoformat(),
    }
    return new_envelope(
        "leadstate.account.mqa.v1", data, source="qualifier", subject=account_id, time=at, id_=data["mqa_id"]
    )
