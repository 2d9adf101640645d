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
