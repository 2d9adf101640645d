"""The API's request and response bodies. Separate from the tables and from the event contracts, which
version on their own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Header, Path
from pydantic import BaseModel, ConfigDict, Field

from services.common.problems import AUTH_PROBLEMS, ProblemDocument, problems

from ..decisions import MAX_NOTE
from ..sla import SlaState

# Lead ids come from the qualifier (user ids, emails, generated ids): any printable text, bounded.
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        description="Retry safely: the same key and body return the first answer and record nothing new.",
    ),
]
LeadId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=256,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The lead's id, as in the MQL event's `lead_id`.",
    ),
]
Outcome = Literal["sql", "rejected", "recycled"]
__all__ = ["AUTH_PROBLEMS", "ProblemDocument", "problems"]  # the routes import them from here


class Reason(BaseModel):
    code: str
    label: str


class ReasonCodes(BaseModel):
    policy_version: str
    sql: list[Reason] = Field(description="Reasons for `outcome: sql`.")
    not_sql: list[Reason] = Field(description="Reasons for `outcome: rejected` or `recycled`.")
    sla_decision_hours: float


class MqlItem(BaseModel):
    lead_id: str
    mql_id: str
    episode: int
    rule: dict[str, Any] = Field(description="The MQL rule that fired: `name` and `description`.")
    reasons: list[dict[str, Any]] = Field(description="Why this is an MQL, each with its evidence.")
    next_checks: list[str] = Field(description="What sales should check on the first contact.")
    next_checks_texts: list[dict[str, str]] = Field(
        default_factory=list,
        description="The same checks per language (`{ja: …, en: …}`) where the policy gives them; else `{}`.",
    )
    interests: list[dict[str, Any]]
    attributes: dict[str, Any]
    identities: dict[str, Any]
    score: dict[str, Any]
    policy_version: str
    qualified_at: datetime
    age_s: float
    sla_due_at: datetime
    sla_state: SlaState = Field(description="Now for an open MQL; at the decision for a decided one.")


class MqlPage(BaseModel):
    items: list[MqlItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    reason: str = Field(
        min_length=1, max_length=100, description="A reason code from GET /v1/reasons valid for `outcome`."
    )
    note: str | None = Field(None, max_length=MAX_NOTE)
    decided_by: str = Field(min_length=1, max_length=200, description="Who decided (a sales rep's id).")


class DecisionFields(BaseModel):
    """What every decision says (on an MQL: `Decision`; on an MQA: `AccountDecision`)."""

    decision_id: str
    episode: int
    outcome: Outcome
    reason: Reason
    note: str | None
    decided_by: str
    decided_at: datetime
    policy_version: str
    rule: str
    time_to_decision_s: float


class Decision(DecisionFields):
    lead_id: str
    mql_id: str


class LeadMql(MqlItem):
    decision: Decision | None


class Lead(BaseModel):
    lead_id: str
    stage: Literal["mql", "sql", "rejected", "recycled"] = Field(
        description="`mql` while an MQL is open; otherwise the outcome of the latest decision."
    )
    open_mql_id: str | None
    identities: dict[str, Any]
    attributes: dict[str, Any]
    mqls: list[LeadMql] = Field(description="Every MQL of the lead, newest episode first.")


class ReasonCount(BaseModel):
    code: str
    label: str
    count: int


class FunnelGroup(BaseModel):
    sql_rate: float | None = Field(description="SQLs / decided MQLs; null until something is decided.")
    group: str | None = Field(description="The value grouped by (null: none, e.g. an open MQL's reason).")
    sqls: int
    top_not_sql_reasons: list[ReasonCount]
    decided: int
    rejected: int
    recycled: int
    open: int
    mqls: int = Field(description="MQLs (with group_by=account_rule: MQAs).")
    median_time_to_decision_s: float | None
    p90_time_to_decision_s: float | None
    sla_breaches: int = Field(description="MQLs decided after the SLA, or still open past it.")


class FunnelReport(BaseModel):
    group_by: Literal["rule", "policy_version", "topic", "reason", "account_rule"]
    since: datetime | None
    until: datetime | None
    groups: list[FunnelGroup]
    total: FunnelGroup
