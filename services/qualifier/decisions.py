"""Sales decisions from `lead.decisions` (contracts/events/lead.decision.v1.schema.json, and on MQAs
account.decision.v1), as the qualifier reads them. An envelope whose data does not match goes to the
dead-letter topic with the reason."""

from __future__ import annotations

from datetime import UTC
from typing import TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from services.common.envelope import Envelope
from services.common.policy import OUTCOMES

from .stitching import AccountDecided, DecisionRecord

Decided = TypeVar("Decided", bound="_Decided")

DECISION_TYPE = "leadstate.lead.decision.v1"
ACCOUNT_DECISION_TYPE = "leadstate.account.decision.v1"


class _Decided(BaseModel):
    # the contract allows more fields; only these move the stage
    model_config = ConfigDict(extra="allow", frozen=True)

    decision_id: str = Field(min_length=1)
    episode: int = Field(ge=1)
    outcome: str
    decided_at: AwareDatetime


class DecisionData(_Decided):
    lead_id: str = Field(min_length=1)
    mql_id: str = Field(min_length=1)


class AccountDecisionData(_Decided):
    account_id: str = Field(min_length=1)
    mqa_id: str = Field(min_length=1)


def _parsed(model: type[Decided], envelope: Envelope) -> Decided:
    """Raises ValueError naming each bad field."""
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None
    if data.outcome not in OUTCOMES:
        raise ValueError(f"outcome: must be one of {', '.join(OUTCOMES)} (got {data.outcome!r})")
    return data


def parse_account_decision(envelope: Envelope) -> AccountDecided:
    data = _parsed(AccountDecisionData, envelope)
    return AccountDecided(
        event_id=envelope.id,
        account_id=data.account_id,
        outcome=data.outcome,
        episode=data.episode,
        time=data.decided_at.astimezone(UTC),
    )


def parse_decision(envelope: Envelope) -> DecisionRecord:
    data = _parsed(DecisionData, envelope)
    return DecisionRecord(
        event_id=envelope.id,
        lead_id=data.lead_id,
        outcome=data.outcome,
        episode=data.episode,
        time=data.decided_at.astimezone(UTC),
    )


def check_decision(envelope: Envelope) -> None:
    """The consumer's data validator for the decisions topic."""
    if envelope.type == ACCOUNT_DECISION_TYPE:
        parse_account_decision(envelope)
    else:
        parse_decision(envelope)
