"""The policy lab's HTTP contract, the same on the qualifier (which runs the jobs) and on the handoff (which
forwards its callers there): the job as both answer it, its path parameter, its body limit, its words."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, Field

from .policy.limits import MAX_DOCUMENT_BYTES

# A candidate is up to a policy's maximum size (the APIs' other bodies are far smaller); beyond, 413.
BODY_LIMITS = {"/v1/policy/simulations": MAX_DOCUMENT_BYTES}
SimulationId = Annotated[str, Path(min_length=1, max_length=100, description="from the Location header")]
RECENT_MAX = 50
RecentLimit = Annotated[int, Query(ge=1, le=RECENT_MAX, description="how many simulations, newest first")]


class Simulation(BaseModel):
    simulation_id: str
    status: Literal["queued", "running", "done", "failed"]
    candidate_version: str
    baseline_version: str
    created_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    report: dict[str, Any] | None = Field(
        default=None,
        description="Once done, as `leadstate policy simulate --format json` prints it: the lead rules' "
        "figures (SQL rate with its interval, MQLs, leads gained and lost, SQL recall of past SQLs, not-SQL "
        "decisions avoided, per rule) and, under `accounts` (null when neither policy has account rules), "
        "the same for account rules: MQAs per policy, accounts gained and lost, SQL recall of past account "
        "SQLs, not-SQL account decisions avoided, per account rule.",
    )


class Simulations(BaseModel):
    """The newest simulations, newest first, each as `GET /v1/policy/simulations/{id}` answers it."""

    simulations: list[Simulation]


DESCRIPTION = """\
The body is the candidate MQL policy as YAML (`application/yaml` or `text/plain`). It is validated
first: an invalid candidate is a 422 whose `errors` name the rule and line of each problem (a rule on
score alone is refused, as at start-up). A valid one is simulated in the background against the policy
the qualifier runs now, over the whole stored event log, joined with the recorded sales decisions (on
MQLs, and on MQAs for the account rules): the answer is 202 with `Location` to poll. Nothing live
changes: no lead state, no topic.
"""
SUMMARY = "Simulate a candidate MQL policy on the stored history and past sales decisions"
POLL_SUMMARY = "A policy simulation's status, and its report once done"
LIST_SUMMARY = "The recent policy simulations (anyone's), newest first, with their reports"
PROBLEMS = {
    409: "No history stored yet: nothing to simulate",
    413: "The body is too large",
    415: "The body is not YAML",
    422: "The candidate policy is invalid (each error names the rule and line)",
}
REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {t: {"schema": {"type": "string"}} for t in ("application/yaml", "text/plain")},
    }
}
