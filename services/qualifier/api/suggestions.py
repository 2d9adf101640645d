"""POST /v1/policy/suggestions and GET /v1/policy/suggestions/{id}: the policy advisor over HTTP, served by
the qualifier, which owns the history it learns from.

The request (optional window, rules and minimum) is checked at once against the running policy and the
recorded decisions: an unknown rule is a 422 naming `rules`; an empty log, a window without decisions or
fewer decided MQLs than the minimum is a 409 saying what is missing (never a job that would end in an
empty report reading as "all fine"). The advice then runs in the background as a job of kind
`suggestion` (qualifier.jobs, the simulations' machinery and limits; 202 + Location) and the client
polls until `done` (with the advice, as `leadstate policy suggest --format json` prints it) or `failed`.
Nothing is ever applied: each suggestion is a sentence and a patch for a reviewed pull request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import JSONResponse

from services.common.policy.limits import MAX_RULES
from services.common.problems import AUTH_PROBLEMS, Problem, problems

from ..advisor.advisor import rules_to_edit
from ..advisor.candidates import CHANGE_WORDS
from ..advisor.source import decided_counts, suggest_in_this_process
from ..advisor.suggest import MIN_DECISIONS, NotEnoughHistory, Window, unknown_rules
from ..eventlog import ACCOUNT_DECISION_KIND
from .deps import ReportReader, SessionDep
from .job_answers import accepted, present, stored_job
from .simulations import history_is_empty
from .state import qualifier_state

KIND = "suggestion"

router = APIRouter(prefix="/v1/policy", tags=["policy advisor"], responses=problems(AUTH_PROBLEMS))
SuggestionsId = Annotated[str, Path(min_length=1, max_length=100, description="from the Location header")]
RuleName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SuggestionsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime | None = Field(
        default=None, description="only decisions on MQLs made at or after this"
    )
    until: AwareDatetime | None = Field(default=None, description="history before this only")
    rules: list[RuleName] = Field(default_factory=list, max_length=MAX_RULES, description="default: all")
    min_decisions: int = Field(
        default=MIN_DECISIONS, ge=1, le=1_000_000, description="a suggestion's least sample"
    )


class SuggestedEdit(BaseModel):
    """A suggestion's change as data, for consumers that word it in another language."""

    code: str = Field(description="one of: " + ", ".join(CHANGE_WORDS))
    params: dict[str, Any] = Field(
        description="the policy's own names (level, industries, sizes, behaviour, second, topic, role) "
        "and numbers (min, was, days)"
    )


class Suggestion(BaseModel):
    """One backtested edit (more fields as `leadstate policy suggest --format json` prints them)."""

    model_config = ConfigDict(extra="allow")

    subject: Literal["lead", "account"] = Field(
        default="lead", description="an MQL rule (`rules:`) or an account rule (`account_rules:`, MQA)"
    )
    rule: str
    kind: str
    change: str = Field(description="the edit in English words")
    edit: SuggestedEdit | None = Field(default=None, description="absent on advice made before 2026-12")
    scope: str = Field(description="whose SQL rate is compared, in English")
    scope_code: Literal["rule", "policy"] | None = Field(
        default=None, description="the edited rule's SQL rate, or the whole policy's (a retired rule)"
    )
    sentence: str = Field(description="the suggestion as one English sentence")
    sql_rate: dict[str, Any]
    baseline_sql_rate: dict[str, Any]
    sql_recall: dict[str, Any]
    not_sql_avoided: dict[str, Any]
    patch: str


class Advice(BaseModel):
    model_config = ConfigDict(extra="allow")

    baseline_version: str
    objective: str = Field(description="in English; `recall_target` and `min_decisions` are its numbers")
    recall_target: float | None = None
    min_decisions: int
    suggestions: list[Suggestion]


class Suggestions(BaseModel):
    suggestions_id: str
    status: Literal["queued", "running", "done", "failed"]
    baseline_version: str
    since: datetime | None = None
    until: datetime | None = None
    rules: list[str]
    min_decisions: int
    created_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    advice: Advice | None = None  # see `leadstate policy suggest --format json`


DESCRIPTION = """\
Asks the advisor which edits of the running policy's MQL rules (from decisions on MQLs) and account
rules (from decisions on MQAs) sales' recorded reasons call for. The
body (JSON, every field optional) narrows the history (`since`, `until`), the rules (`rules`) and sets
the least number of decided MQLs a suggestion must rest on (`min_decisions`, default 30). It is checked
first against the policy and the recorded decisions (422 for an unknown rule, 409 when the history
cannot support advice, saying what is missing); the advice is then worked out in the background: 202
with `Location` to poll. Every suggestion is backtested with the policy lab's fold and comes with its
sentence and the exact patch; nothing is applied.
"""


@router.post(
    "/suggestions",
    operation_id="suggestPolicyEdits",
    summary="Backtested edits of the MQL and account rules that sales' reasons call for (never applied)",
    description=DESCRIPTION,
    status_code=202,
    response_model=Suggestions,
    responses=problems(
        {
            409: "The history cannot support advice on any kind of rule (empty, no decisions in the "
            "window, too few); `code` (the lead rules'): empty_log, no_decisions {since, until}, "
            "too_few_decisions {decided, least}, no_rule_with_enough_decisions {least, decided: {rule: "
            "count}}, not_asked; when the policy has account rules, `params.accounts` {code, params, "
            "message} says what the account rules lack (no_account_decisions, too_few_account_decisions, "
            "no_account_rule_with_enough_decisions)",
            422: "The request is invalid (an unknown rule, `until` not after `since`, …)",
        }
    ),
)
async def post_suggestions(
    request: Request, caller: ReportReader, session: SessionDep, body: SuggestionsRequest | None = None
) -> JSONResponse:
    asked = body or SuggestionsRequest()
    if asked.since and asked.until and asked.since >= asked.until:
        message = "must be later than since"
        raise Problem(422, f"until {message}", errors=[{"field": "until", "message": message}])
    state = qualifier_state(request)
    policy = state.policy_file.policy
    missing = unknown_rules(policy, asked.rules)
    if missing:
        message = f"unknown rule {', '.join(map(repr, missing))}: the policy has " + ", ".join(
            [r.name for r in policy.rules] + [r.name for r in policy.accounts.rules]
        )
        raise Problem(422, message, errors=[{"field": "rules", "message": message}])
    if await history_is_empty(session):
        _refuse(NotEnoughHistory("the event log is empty: no history to learn from yet", "empty_log"))
    window = Window(since=asked.since, until=asked.until)
    try:
        rules_to_edit(
            policy,
            await decided_counts(session, window),
            await decided_counts(session, window, ACCOUNT_DECISION_KIND),
            min_decisions=asked.min_decisions,
            rules=asked.rules,
            window=window,
        )
    except NotEnoughHistory as exc:
        _refuse(exc)
    options = asked.model_dump(mode="json") | {"policy_name": state.policy_file.source}
    params = {"baseline_version": policy.version, **options}
    return await accepted(
        session,
        state,
        kind=KIND,
        params=params,
        by=caller.key_id,
        work=suggest_in_this_process,
        args=(state.settings.require_database_url(), state.policy_file.text, options),
        path="/v1/policy/suggestions",
        view=_present,
    )


@router.get(
    "/suggestions/{suggestions_id}",
    operation_id="getPolicySuggestions",
    summary="A policy advice job's status, and the suggestions once done",
    responses=problems({404: "No such advice job"}),
)
async def get_suggestions(suggestions_id: SuggestionsId, _: ReportReader, session: SessionDep) -> Suggestions:
    return _present(await stored_job(session, KIND, suggestions_id, what="suggestions"))


def _refuse(refused: NotEnoughHistory) -> None:
    message = str(refused)
    errors = [{"field": "history", "message": message}]
    raise Problem(409, message, errors=errors, code=refused.code, params=refused.params)


def _present(job: dict[str, Any] | None) -> Suggestions:
    return present(Suggestions, job, id_field="suggestions_id", result_field="advice")
