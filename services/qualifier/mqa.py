"""The MQA event (contracts/events/account.mqa.v1.schema.json): `leadstate.account.mqa.v1` on `lead.mql`.

Its id is a function of (account, episode): a repeat of the same account episode is recognisably the
same event, and the MQA register's keys refuse it before it reaches the outbox.
"""

from __future__ import annotations

import hashlib
from typing import Any

from services.common.envelope import Envelope, new_envelope
from services.common.policy import Mqa

MQA_TYPE = "leadstate.account.mqa.v1"


def mqa_id_for(account_id: str, episode: int) -> str:
    return "mqa_" + hashlib.sha1(f"{account_id}/{episode}".encode()).hexdigest()[:24]


def mqa_data(mqa: Mqa) -> dict[str, Any]:
    return {
        **mqa.explanation,
        "mqa_id": mqa_id_for(mqa.account_id, mqa.episode),
        "account_id": mqa.account_id,
        "episode": mqa.episode,
        "policy_version": mqa.policy_version,
        "qualified_at": mqa.at.isoformat(),
    }


def mqa_envelope(data: dict[str, Any], mqa: Mqa) -> Envelope:
    return new_envelope(
        MQA_TYPE, data, source="qualifier", subject=mqa.account_id, time=mqa.at, id_=data["mqa_id"]
    )


def mqa_row(data: dict[str, Any], mqa: Mqa) -> dict[str, Any]:
    return {
        "mqa_id": data["mqa_id"],
        "account_id": mqa.account_id,
        "episode": mqa.episode,
        "rule": mqa.rule_name,
        "policy_version": mqa.policy_version,
        "qualified_at": mqa.at,
        "data": data,
    }
