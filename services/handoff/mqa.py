"""The data of a `leadstate.account.mqa.v1` envelope (contracts/events/account.mqa.v1.schema.json): an
account's buying group qualified. It shares `lead.mql` with the person MQLs; `validate_qualified` is the
topic's contract check and sends either kind that does not match to the dead-letter topic."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field, field_validator

from services.common.envelope import Envelope

from .mql import MQL_TYPE, Check, Reason, Rule, _Open, parse_mql, parsed, storable

MQA_TYPE = "leadstate.account.mqa.v1"
QUALIFIED_TYPES = frozenset({MQL_TYPE, MQA_TYPE})


class Account(_Open):
    account_id: str = Field(min_length=1, max_length=256)
    name: str | None = None
    domain: str | None = None
    attributes: dict[str, Any]


class BuyingGroup(_Open):
    present: list[dict[str, Any]]
    missing: list[dict[str, Any]]
    text: str


class Member(_Open):
    lead_id: str = Field(min_length=1)
    roles: list[str]
    engaged: bool
    stage: str
    episode: int = Field(ge=0)


class MqaData(_Open):
    mqa_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1, max_length=256)
    episode: int = Field(ge=1)
    account: Account
    policy_version: str = Field(min_length=1)
    rule: Rule
    reasons: list[Reason] = Field(min_length=1)
    buying_group: BuyingGroup
    members: list[Member]
    next_checks: list[Check] = Field(min_length=1)
    qualified_at: AwareDatetime

    @field_validator("qualified_at")
    @classmethod
    def _storable(cls, value: AwareDatetime) -> AwareDatetime:
        return storable(value)

    @property
    def topics(self) -> list[str]:
        """The topics its reasons name (the shared topic first), for the inbox's topic filter."""
        found = [r.model_extra.get("params", {}).get("topic") for r in self.reasons if r.model_extra]
        evidence = [e.get("topic") for r in self.reasons for e in r.evidence]
        return list(dict.fromkeys(t for t in (*found, *evidence) if isinstance(t, str)))


def parse_mqa(data: dict[str, Any]) -> MqaData:
    return parsed(MqaData, data)


def validate_qualified(envelope: Envelope) -> None:
    """The consumer's data validator for `lead.mql`: an MQL or an MQA (ValueError names each bad field)."""
    if envelope.type == MQA_TYPE:
        parse_mqa(envelope.data)
    else:
        parse_mql(envelope.data)
