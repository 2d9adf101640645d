"""Sales decisions from `lead.decisions` (contracts/events/lead.decision.v1.schema.json), as the qualifier
reads them. An envelope whose data does not match goes to the dead-letter topic with the reason."""

from __future__ import annotations

from datetime import UTC

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from services.common.envelope import Envelope
from services.common.policy import OUTCOMES

from .stitching import DecisionRecord

DECISION_TYPE = "leadstate.lead.decision.v1"


class DecisionData(BaseModel):
    # the contract allows more fields; only these move the lead's stage
    model_config = ConfigDict(extra="allow", frozen=True)

    decision_id: str = Field(min_length=1)
    lead_id: str = Field(min_length=1)
    mql_id: str = Field(min_length=1)
    episode: int = Field(ge=1)
    outcome: str
    decided_at: AwareDatetime


def parse_decision(envelope: Envelope) -> DecisionRecord:
    """Raises ValueError naming each bad field."""
    try:
        data = DecisionData.model_validate(envelope.data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None
    if data.outcome not in OUTCOMES:
        raise ValueError(f"outcome: must be one of {', '.join(OUTCOMES)} (got {data.outcome!r})")
    return DecisionRecord(
        event_id=envelope.id,
        lead_id=data.lead_id,
        outcome=data.outcome,
        episode=data.episode,
        time=data.decided_at.astimezone(UTC),
    )


def check_decision(envelope: Envelope) -> None:
    """The consumer's data validator for the decisions topic."""
    parse_decision(envelope)
