"""POST /v1/leads/{lead_id}/decisions (a sales decision, always with a reason) and GET /v1/reasons."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from services.common.problems import Problem

from ..decisions import (
    ACCOUNTS,
    Decide,
    IdempotencyKeyReused,
    NoOpenMql,
    Recorded,
    UnknownLead,
    UnknownReason,
    decide,
)
from ..state import handoff_state
from .deps import Caller, DecisionWriter, MqlReader, PolicyDep
from .schemas import (
    AUTH_PROBLEMS,
    Decision,
    DecisionRequest,
    IdempotencyKeyHeader,
    LeadId,
    Reason,
    ReasonCodes,
    problems,
)

router = APIRouter(prefix="/v1", tags=["decisions"], responses=problems(AUTH_PROBLEMS))

PROBLEMS = problems(
    {
        404: "The handoff never received an MQL for this lead",
        409: "The lead has no open MQL (already decided, maybe by a concurrent request)",
        413: "The body is too large",
        422: "Invalid body or lead id, a reason not valid for the outcome (`valid_codes` lists the valid "
        "ones), or an Idempotency-Key reused with a different body",
    }
)


@router.get(
    "/reasons", operation_id="listReasons", summary="The SQL and not-SQL reason codes sales picks from"
)
async def list_reasons(_: MqlReader, policy: PolicyDep) -> ReasonCodes:
    return ReasonCodes(
        policy_version=policy.version,
        sql=[Reason(code=r.code, label=r.label) for r in policy.sql],
        not_sql=[Reason(code=r.code, label=r.label) for r in policy.not_sql],
        sla_decision_hours=policy.decision_hours,
    )


@router.post(
    "/leads/{lead_id}/decisions",
    operation_id="recordDecision",
    summary="Record the sales decision on the lead's open MQL, with its reason",
    status_code=201,
    responses=PROBLEMS,
)
async def post_decision(
    lead_id: LeadId,
    body: DecisionRequest,
    caller: DecisionWriter,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Decision:
    asked = Decide(lead_id=lead_id, outcome=body.outcome, reason=body.reason, note=body.note)
    recorded = await decide_or_problem(request, asked, body, caller, idempotency_key)
    headers = {"Location": f"/v1/leads/{lead_id}"}
    if recorded.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(  # type: ignore[return-value]
        Decision.model_validate(recorded.body).model_dump(mode="json"),
        status_code=recorded.status,
        headers=headers,
    )


async def decide_or_problem(
    request: Request, asked: Decide, body: DecisionRequest, caller: Caller, idempotency_key: str | None
) -> Recorded:
    """The decide flow for the API: each refusal as the problem document a client reads."""
    kind, whom = ("MQA", "account") if asked.register is ACCOUNTS else ("MQL", "lead")
    whom = f"{whom} {asked.lead_id!r}"
    try:
        return await decide(
            handoff_state(request).decider,
            asked,
            decided_by=body.decided_by,
            caller=caller.key_id,
            idempotency_key=idempotency_key,
            now=datetime.now(UTC),
            actor=caller.actor,
        )
    except UnknownReason as exc:
        valid = [r.code for r in exc.valid]
        group = "SQL" if body.outcome == "sql" else "not-SQL"
        message = (
            f"{body.reason!r} is not a {group} reason code; valid for {body.outcome}: {', '.join(valid)}"
        )
        raise Problem(
            422, message, errors=[{"field": "reason", "message": message}], valid_codes=valid
        ) from None
    except UnknownLead:
        raise Problem(404, f"no {kind} was received for {whom}") from None
    except NoOpenMql:
        raise Problem(409, f"{whom} has no open {kind}: its latest {kind} is already decided") from None
    except IdempotencyKeyReused:
        message = "this Idempotency-Key was used with a different request; use a new key"
        raise Problem(422, message, errors=[{"field": "Idempotency-Key", "message": message}]) from None
