"""GET /v1/leads/{lead_id}/timeline and /explain: what the qualifier knows of one lead, from the data it
owns (the event log, the stitched lead state), for the handoff's lead page and for people asking why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from services.common.policy import evaluate
from services.common.policy.episode import blocked_reason
from services.common.problems import AUTH_PROBLEMS, Problem, problems

from ..explain_lead import describe_lead
from ..store import stored_lead
from ..timeline import MAX_EVENTS, lead_timeline
from .deps import MqlReader, SessionDep
from .state import qualifier_state

router = APIRouter(prefix="/v1/leads", tags=["leads"], responses=problems(AUTH_PROBLEMS))
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
LeadId = Annotated[str, Path(min_length=1, max_length=256, pattern=PRINTABLE, description="the lead's id")]
LeadRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=320,
        pattern=PRINTABLE,
        description="a lead id, user id, email or anonymous id",
    ),
]


class TimelineEntry(BaseModel):
    time: datetime
    kind: str  # track | page | identify | … | decision
    text: str  # in English
    params: dict[str, str] = Field(
        default_factory=dict,
        description="what `text` says, by name, for rendering in another language: a decision's outcome, "
        "reason (code), reason_label, by; a page's title, path; an identify's first_name, last_name, "
        "who (email or user id), title, company; any other "
        "event's event (name), detail, topic (id)",
    )
    anonymous: bool  # before the lead identified itself: stitched to it since
    score: float | None  # the engagement score after this event, as the qualifier folds it


class Timeline(BaseModel):
    lead_id: str
    policy_version: str
    events: list[TimelineEntry]  # oldest first; at most the newest MAX_EVENTS


class RuleCheck(BaseModel):
    rule: str
    matched: bool
    met: list[str]
    missing: list[str]


class Explanation(BaseModel):
    lead_id: str  # the live lead the reference resolved to (after merges)
    policy_version: str
    at: datetime
    rules: list[RuleCheck]
    would_qualify_under: str | None  # the rule that would make it an MQL now
    blocked: str | None  # why no new MQL is possible now, whatever the rules say
    lines: list[str]  # the same in words, as `leadstate policy explain` prints it


@router.get(
    "/{lead_id}/timeline",
    operation_id="getLeadTimeline",
    summary="A lead's events with its score after each one, the stitched anonymous part included",
    description=f"Oldest first, at most the newest {MAX_EVENTS} events.",
    responses=problems({404: "No event stored for this lead"}),
)
async def get_timeline(lead_id: LeadId, request: Request, _: MqlReader, session: SessionDep) -> Timeline:
    policy = qualifier_state(request).policy_file.policy
    events = await lead_timeline(session, lead_id, policy)
    if not events:
        raise Problem(404, f"no event stored for lead {lead_id!r}")
    entries = [TimelineEntry.model_validate(e, from_attributes=True) for e in events]
    return Timeline(lead_id=lead_id, policy_version=policy.version, events=entries)


@router.get(
    "/{lead_ref}/explain",
    operation_id="explainLead",
    summary="A stored lead's state and how each rule of the running policy evaluates it now",
    responses=problems({404: "No lead with this id or identity"}),
)
async def get_explanation(
    lead_ref: LeadRef, request: Request, _: MqlReader, session: SessionDep
) -> Explanation:
    policy = qualifier_state(request).policy_file.policy
    found = await stored_lead(session, lead_ref)
    if found is None:
        raise Problem(404, f"no lead with the id or identity {lead_ref!r}")
    lead_id, state = found
    at = datetime.now(UTC)
    evaluation = evaluate(state, policy, at)
    return Explanation(
        lead_id=lead_id,
        policy_version=policy.version,
        at=at,
        rules=[
            RuleCheck(rule=r.rule_name, matched=r.matched, met=r.satisfied, missing=r.missing)
            for r in evaluation.results
        ],
        would_qualify_under=evaluation.mql.rule_name if evaluation.mql else None,
        blocked=blocked_reason(state, policy),
        lines=describe_lead(state, policy, at),
    )
