"""The MQL event (contracts/events/lead.mql.v1.schema.json): `leadstate.lead.mql.v1` on `lead.mql`.

Its id is a function of (lead, episode): a repeat of the same episode is recognisably the same event,
and the MQL register's primary key refuses it before it reaches the outbox.
"""

from __future__ import annotations

import hashlib
from typing import Any

from services.common.envelope import Envelope, new_envelope
from services.common.policy import MqlDecision

MQL_TYPE = "leadstate.lead.mql.v1"


def mql_id_for(lead_id: str, episode: int) -> str:
    return "mql_" + hashlib.sha1(f"{lead_id}/{episode}".encode()).hexdigest()[:24]


def mql_data(lead_id: str, mql: MqlDecision) -> dict[str, Any]:
    return {
        **mql.explanation,
        "mql_id": mql_id_for(lead_id, mql.episode),
        "lead_id": lead_id,
        "episode": mql.episode,
        "policy_version": mql.policy_version,
        "qualified_at": mql.at.isoformat(),
    }


def mql_envelope(data: dict[str, Any], mql: MqlDecision) -> Envelope:
    return new_envelope(
        MQL_TYPE, data, source="qualifier", subject=data["lead_id"], time=mql.at, id_=data["mql_id"]
    )


def mql_row(data: dict[str, Any], mql: MqlDecision) -> dict[str, Any]:
    return {
        "mql_id": data["mql_id"],
        "lead_id": data["lead_id"],
        "episode": mql.episode,
        "rule": mql.rule_name,
        "policy_version": mql.policy_version,
        "qualified_at": mql.at,
        "data": data,
    }
