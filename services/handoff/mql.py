"""The data of a `leadstate.lead.mql.v1` envelope, as contracts/events/lead.mql.v1.schema.json fixes it.

The model is the consumer's contract check: an MQL that does not match goes to the dead-letter topic
with the reason, and the projection only ever sees valid ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.envelope import INFINITIES, Envelope

MQL_TYPE = "leadstate.lead.mql.v1"

NonEmpty = Field(min_length=1)
Check = Annotated[str, Field(min_length=1)]


class _Open(BaseModel):
    # The contract allows additional properties: newer producers may add fields.
    model_config = ConfigDict(extra="allow", frozen=True)


class Identities(_Open):
    user_id: str | None = None
    email: str | None = None
    anonymous_ids: list[str]


class Rule(_Open):
    name: str
    description: str


class Reason(_Open):
    text: str = NonEmpty
    evidence: list[dict[str, Any]]


class Score(_Open):
    value: float
    components: dict[str, float]


class Interest(_Open):
    topic: str
    label: str | None = None
    weight: float


class MqlData(_Open):
    mql_id: str = NonEmpty
    lead_id: str = NonEmpty
    episode: int = Field(ge=1)
    identities: Identities
    attributes: dict[str, Any]
    policy_version: str = NonEmpty
    rule: Rule
    reasons: list[Reason] = Field(min_length=1)
    score: Score
    interests: list[Interest]
    next_checks: list[Check] = Field(min_length=1)
    qualified_at: AwareDatetime

    @field_validator("qualified_at")
    @classmethod
    def _storable(cls, value: AwareDatetime) -> AwareDatetime:
        if value in INFINITIES:  # asyncpg would store it as ±infinity
            raise ValueError("the first or last instant Python knows is not a time an MQL was made")
        return value

    @property
    def top_topic(self) -> str | None:
        if not self.interests:
            return None
        return max(self.interests, key=lambda i: i.weight).topic


def parse_mql(data: dict[str, Any]) -> MqlData:
    try:
        return MqlData.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None


def validate_mql(envelope: Envelope) -> None:
    """The consumer's data validator for `lead.mql` (ValueError names each bad field)."""
    parse_mql(envelope.data)
