"""The API's account shapes: an MQA in the inbox, a decision on it, and an account with its history."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..sla import SlaState
from .schemas import DecisionFields, LeadMql


class MqaItem(BaseModel):
    account_id: str
    mqa_id: str
    episode: int
    account: dict[str, Any] = Field(description="`name`, `domain` and `attributes` of the company.")
    rule: dict[str, Any] = Field(description="The account rule that fired: `name` and `description`.")
    reasons: list[dict[str, Any]] = Field(description="Why this is an MQA, each with its evidence.")
    buying_group: dict[str, Any] = Field(description="Roles `present` (with who) and `missing`, and `text`.")
    members: list[dict[str, Any]] = Field(description="The account's people with their roles and state.")
    next_checks: list[str] = Field(description="What sales should check next.")
    score: dict[str, Any] = Field(description="Summed engagement of the engaged members (one input only).")
    policy_version: str
    qualified_at: datetime
    age_s: float
    sla_due_at: datetime
    sla_state: SlaState = Field(description="Now for an open MQA; at the decision for a decided one.")


class MqaPage(BaseModel):
    items: list[MqaItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class AccountDecision(DecisionFields):
    account_id: str
    mqa_id: str


class AccountMqa(MqaItem):
    decision: AccountDecision | None


class Account(BaseModel):
    account_id: str
    stage: Literal["none", "mqa", "sql", "rejected", "recycled"] = Field(
        description="`none` before any MQA; `mqa` while one is open; else the latest decision's outcome."
    )
    open_mqa_id: str | None
    name: str | None
    domain: str | None
    attributes: dict[str, Any]
    members: list[dict[str, Any]] = Field(description="As of the latest MQA: people, roles, engagement.")
    buying_group: dict[str, Any] | None = Field(
        description="Roles present and missing, as of the latest MQA."
    )
    mqas: list[AccountMqa] = Field(description="Every MQA of the account, newest episode first.")
    person_mqls: list[LeadMql] = Field(description="MQLs of the account's people, newest first.")
