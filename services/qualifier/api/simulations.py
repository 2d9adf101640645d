"""POST /v1/policy/simulations, GET /v1/policy/simulations/{id} and the recent ones (GET
/v1/policy/simulations): the policy lab over HTTP, served by the qualifier, which owns the event log it
replays (the handoff's routes of the same name forward here; its console lists the recent ones).

A candidate policy (YAML) is checked at once (422 naming each rule and line); the simulation of the
stored history under the current policy and the candidate runs in the background as a job of kind
`simulation` (qualifier.jobs; 202 + Location) and the client polls until `done` (with the report) or
`failed` (with the error).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse

from services.common.lab_api import (
    DESCRIPTION,
    LIST_SUMMARY,
    POLL_SUMMARY,
    PROBLEMS,
    REQUEST_BODY,
    SUMMARY,
    RecentLimit,
    Simulation,
    SimulationId,
    Simulations,
)
from services.common.policy import PolicyError, load_policy
from services.common.problems import AUTH_PROBLEMS, Problem, problems

from ..jobs import recent_jobs
from ..lab.simulate import simulate_in_this_process
from ..tables import events
from .deps import ReportReader, SessionDep
from .job_answers import accepted, present, stored_job
from .state import qualifier_state

KIND = "simulation"

router = APIRouter(prefix="/v1/policy", tags=["policy lab"], responses=problems(AUTH_PROBLEMS))

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


@router.post(
    "/simulations",
    operation_id="simulatePolicy",
    summary=SUMMARY,
    description=DESCRIPTION,
    status_code=202,
    response_model=Simulation,
    responses=problems(PROBLEMS),
    openapi_extra=REQUEST_BODY,
)
async def post_simulation(request: Request, caller: ReportReader, session: SessionDep) -> JSONResponse:
    candidate_yaml = await _body(request)
    try:
        candidate = load_policy(candidate_yaml, "candidate")
    except PolicyError as exc:
        errors = [
            {
                "field": f"body.{issue.path}" if issue.path else "body",
                "message": f"line {issue.line}: "
                + (f"rule {issue.rule!r}: " if issue.rule else "")
                + issue.message,
            }
            for issue in exc.issues
        ]
        raise Problem(
            422,
            f"the candidate policy is invalid ({len(errors)} problems)",
            errors=errors,
            code="policy_invalid",
            params={"problems": len(errors)},
        ) from None
    state = qualifier_state(request)
    baseline = state.policy_file  # read once at start-up: the policy the worker folds with
    if await history_is_empty(session):
        message = "the event log is empty: no history to simulate yet"
        errors = [{"field": "history", "message": message}]
        raise Problem(409, message, errors=errors, code="empty_log", params={})
    params = {
        "candidate_version": candidate.version,
        "baseline_version": baseline.policy.version,
        "candidate": candidate_yaml,
    }
    return await accepted(
        session,
        state,
        kind=KIND,
        params=params,
        by=caller.key_id,
        work=simulate_in_this_process,
        args=(state.settings.require_database_url(), baseline.text, candidate_yaml),
        path="/v1/policy/simulations",
        view=_present,
    )


@router.get("/simulations", operation_id="listPolicySimulations", summary=LIST_SUMMARY)
async def list_simulations(_: ReportReader, session: SessionDep, limit: RecentLimit = 10) -> Simulations:
    return Simulations(simulations=[_present(job) for job in await recent_jobs(session, KIND, limit)])


@router.get(
    "/simulations/{simulation_id}",
    operation_id="getPolicySimulation",
    summary=POLL_SUMMARY,
    responses=problems({404: "No such simulation"}),
)
async def get_simulation(simulation_id: SimulationId, _: ReportReader, session: SessionDep) -> Simulation:
    return _present(await stored_job(session, KIND, simulation_id, what="simulation"))


async def _body(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in YAML_TYPES:
        message = f"send the candidate policy as {' or '.join(YAML_TYPES[:1] + YAML_TYPES[-1:])}"
        raise Problem(
            415,
            f"unsupported content type {media or 'none'!r}",
            errors=[{"field": "body", "message": message}],
        )
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(
            422, "the body is not UTF-8", errors=[{"field": "body", "message": "not UTF-8"}]
        ) from None
    if not text.strip():
        raise Problem(422, "the body is empty", errors=[{"field": "body", "message": "a policy is required"}])
    return text


async def history_is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(exists().select_from(events)))


def _present(job: dict[str, Any] | None) -> Simulation:
    return present(Simulation, job, id_field="simulation_id", result_field="report")
