"""The data of a `leadstate.lead.mql.v1` envelope, as contracts/events/lead.mql.v1.schema.json fixes it.

The model is the consumer's contract check: an MQL that does not match goes to the dead-letter topic
with the reason, and the projection only ever sees valid ones.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.envelope import INFINITIES

MQL_TYPE = "leadstate.lead.mql.v1"
Parsed = TypeVar("Parsed", bound=BaseModel)

NonEmpty = Field(min_length=1)
Check = Annotated[str, Field(min_length=1)]


def storable(value: AwareDatetime) -> AwareDatetime:
    if value in INFINITIES:  # asyncpg would store it as ±infinity
        raise ValueError("the first or last instant Python knows is not a time a qualification was made")
    return value


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
    account_id: str | None = Field(None, min_length=1, max_length=256)

    @field_validator("qualified_at")
    @classmethod
    def _storable(cls, value: AwareDatetime) -> AwareDatetime:
        return storable(value)

    @property
    def top_topic(self) -> str | None:
        if not self.interests:
            return None
        return max(self.interests, key=lambda i: i.weight).topic


def parse_mql(data: dict[str, Any]) -> MqlData:
    return parsed(MqlData, data)


def parsed(model: type[Parsed], data: dict[str, Any]) -> Parsed:
    """`model` from event data; a ValueError naming each bad field otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None
