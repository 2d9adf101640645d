"""POST /v1/policy/simulations and GET /v1/policy/simulations/{id} on the handoff: kept for the callers
that know the handoff's address, forwarded to the qualifier, which owns the event log and runs the lab
(services/qualifier/api/simulations.py; the same paths there).

The handoff checks the caller's key and scope first, forwards the body with the caller's own key (so the
qualifier checks it again and records who asked), passes the qualifier's answer on as it is (202 with
Location, 404, 409, 413, 415, 422 naming the rule and line) and records `simulation.started` in its audit
trail. When the qualifier is not reachable in time: 503 with Retry-After, never a 500 or a hang.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse

from services.common.callers import Caller
from services.common.policy.limits import MAX_DOCUMENT_BYTES
from services.common.problems import Problem

from ..audit import record
from ..qualifier_client import RETRY_AFTER_S, Answer, QualifierUnavailable
from ..state import handoff_state
from .deps import ReportReader, SessionDep
from .schemas import AUTH_PROBLEMS, problems

router = APIRouter(prefix="/v1/policy", tags=["policy lab"], responses=problems(AUTH_PROBLEMS))

# A candidate is up to a policy's maximum size (the handoff's other bodies are far smaller); beyond, 413.
BODY_LIMITS = {"/v1/policy/simulations": MAX_DOCUMENT_BYTES}
SimulationId = Annotated[str, Path(min_length=1, max_length=100, description="from the Location header")]
UNAVAILABLE = "The qualifier, which runs the lab, is unavailable: retry after Retry-After seconds"


class Simulation(BaseModel):
    simulation_id: str
    status: Literal["queued", "running", "done", "failed"]
    candidate_version: str
    baseline_version: str
    created_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    report: dict[str, Any] | None = None  # see `leadstate policy simulate --format json`


DESCRIPTION = """\
The body is the candidate MQL policy as YAML (`application/yaml` or `text/plain`). It is validated
first: an invalid candidate is a 422 whose `errors` name the rule and line of each problem (a rule on
score alone is refused, as at start-up). A valid one is simulated in the background against the policy
the qualifier runs now, over the whole stored event log, joined with the recorded sales decisions: the
answer is 202 with `Location` to poll. Nothing live changes: no lead state, no topic.

The lab runs in the qualifier (its API serves the same paths); this route forwards to it with the
caller's key, and answers 503 with `Retry-After` while the qualifier cannot be reached.
"""


@router.post(
    "/simulations",
    operation_id="simulatePolicy",
    summary="Simulate a candidate MQL policy on the stored history and past sales decisions",
    description=DESCRIPTION,
    status_code=202,
    response_model=Simulation,
    responses=problems(
        {
            409: "No history stored yet: nothing to simulate",
            413: "The body is too large",
            415: "The body is not YAML",
            422: "The candidate policy is invalid (each error names the rule and line)",
            503: UNAVAILABLE,
        }
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string"}} for t in ("application/yaml", "text/plain")},
        }
    },
)
async def post_simulation(request: Request, caller: ReportReader, session: SessionDep) -> JSONResponse:
    client = handoff_state(request).qualifier
    candidate = await request.body()
    media = request.headers.get("content-type", "")
    answer = await _forwarded(client.post_simulation(candidate, media, _credential(request)))
    if answer.status == 202 and isinstance(answer.body, dict):
        await _audit(session, caller, answer.body)
    return _passed_on(answer)


@router.get(
    "/simulations/{simulation_id}",
    operation_id="getPolicySimulation",
    summary="A policy simulation's status, and its report once done",
    response_model=Simulation,
    responses=problems({404: "No such simulation", 503: UNAVAILABLE}),
)
async def get_simulation(simulation_id: SimulationId, request: Request, _: ReportReader) -> JSONResponse:
    client = handoff_state(request).qualifier
    return _passed_on(await _forwarded(client.get_simulation(simulation_id, _credential(request))))


def _credential(request: Request) -> str:
    return request.headers["authorization"]  # present: the key was checked before this runs


async def _forwarded(call: Any) -> Answer:
    try:
        answer: Answer = await call
    except QualifierUnavailable as exc:
        raise Problem(503, f"the policy lab is unavailable: {exc}", headers=_retry()) from None
    if answer.status >= 500:
        raise Problem(
            503, f"the policy lab is unavailable (the qualifier answered {answer.status})", headers=_retry()
        )
    return answer


async def _audit(session: AsyncSession, caller: Caller, job: dict[str, Any]) -> None:
    versions = {k: job.get(k) for k in ("candidate_version", "baseline_version")}
    await record(session, caller.actor, "simulation.started", str(job.get("simulation_id")), versions)
    await session.commit()


def _passed_on(answer: Answer) -> JSONResponse:
    headers = {k: v for k, v in answer.headers.items() if k in ("location", "retry-after")}
    response = JSONResponse(answer.body, status_code=answer.status, headers=headers)
    if "content-type" in answer.headers:  # problem+json stays problem+json
        response.headers["content-type"] = answer.headers["content-type"]
    return response


def _retry() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_S)}
