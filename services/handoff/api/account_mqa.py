"""The account side of the handoff: GET /v1/mqas (the inbox of open MQAs), GET /v1/accounts/{account_id}
(members, roles, MQA episodes with decisions, the person MQLs) and POST /v1/accounts/{account_id}/decisions
(SQL / not-SQL with a reason code, through the same decide flow as lead decisions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy import Row
from starlette.responses import JSONResponse

from services.common.problems import Problem

from ..account_mqa import AccountHistory, account_history
from ..decisions import ACCOUNTS, Decide
from ..policy import HandoffPolicy
from ..rows import show_each
from .account_schemas import Account, AccountDecision, AccountMqa, MqaItem, MqaPage
from .decisions import decide_or_problem
from .deps import CursorsDep, DecisionWriter, MqlReader, PolicyDep, SessionDep
from .inbox import PageDep, page_or_problem
from .present import lead_mql, sla_fields
from .schemas import AUTH_PROBLEMS, DecisionRequest, IdempotencyKeyHeader, problems

router = APIRouter(prefix="/v1", tags=["accounts"], responses=problems(AUTH_PROBLEMS))

AccountId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=256,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The account's id, as in the MQA event's `account_id` (a groupId, or `domain:<domain>`).",
    ),
]
DECIDE_PROBLEMS = problems(
    {
        404: "The handoff never received an MQA for this account",
        409: "The account has no open MQA (already decided, maybe by a concurrent request)",
        413: "The body is too large",
        422: "Invalid body or account id, a reason not valid for the outcome (`valid_codes` lists the valid "
        "ones), or an Idempotency-Key reused with a different body",
    }
)


def mqa_item(row: Row, policy: HandoffPolicy, now: datetime, decided_at: datetime | None = None) -> MqaItem:
    data = row.data
    return MqaItem(
        account_id=row.account_id,
        mqa_id=row.mqa_id,
        episode=row.episode,
        account=data["account"],
        rule=data["rule"],
        reasons=data["reasons"],
        buying_group=data["buying_group"],
        members=data["members"],
        next_checks=data["next_checks"],
        score=data["score"],
        policy_version=row.policy_version,
        **sla_fields(row, policy, now=now, decided_at=decided_at),
    )


@router.get(
    "/mqas",
    operation_id="listMqas",
    summary="The account inbox: open MQAs with their explanation, buying group and SLA",
    responses=problems({400: "A cursor this API did not issue for these filters", 422: "A bad parameter"}),
)
async def list_mqas(
    _: MqlReader, session: SessionDep, policy: PolicyDep, cursors: CursorsDep, asked: PageDep
) -> MqaPage:
    now = datetime.now(UTC)
    page, next_cursor = await page_or_problem(session, asked, policy, cursors, now, ACCOUNTS)
    items = show_each(page, lambda r: mqa_item(r, policy, now), view="mqa inbox", key=lambda r: str(r.mqa_id))
    return MqaPage(items=items, next_cursor=next_cursor)


@router.get(
    "/accounts/{account_id}",
    operation_id="getAccount",
    summary="An account: its members and roles, MQA episodes with decisions, and its people's MQLs",
    responses=problems(
        {404: "Neither an MQA nor a person MQL of this account", 422: "Not a valid account id"}
    ),
)
async def get_account(account_id: AccountId, _: MqlReader, session: SessionDep, policy: PolicyDep) -> Account:
    history = await account_history(session, account_id)
    if history.empty:
        raise Problem(404, f"no MQA or MQL was received for account {account_id!r}")
    return account_view(account_id, history, policy, datetime.now(UTC))


def account_view(account_id: str, history: AccountHistory, policy: HandoffPolicy, now: datetime) -> Account:
    """An account from its (non-empty) history: the API's answer, the console's account page."""

    def episode(pair: tuple[Row, Row | None]) -> AccountMqa:
        mqa, decision = pair
        item = mqa_item(mqa, policy, now, decision.decided_at if decision is not None else None)
        shown = AccountDecision.model_validate(decision.data) if decision is not None else None
        return AccountMqa(**item.model_dump(), decision=shown)

    shown = show_each(history.mqas, episode, view="account", key=lambda pair: str(pair[0].mqa_id))
    people = show_each(
        history.person_mqls,
        lambda p: lead_mql(*p, policy, now),
        view="account",
        key=lambda p: str(p[0].mql_id),
    )
    latest = shown[0] if shown else None
    open_mqa = next((m for m in shown if m.decision is None), None)
    stage = "none" if latest is None else ("mqa" if latest.decision is None else latest.decision.outcome)
    return Account(
        account_id=account_id,
        stage=stage,
        open_mqa_id=open_mqa.mqa_id if open_mqa is not None else None,
        name=latest.account.get("name") if latest else None,
        domain=latest.account.get("domain") if latest else None,
        attributes=latest.account.get("attributes", {}) if latest else {},
        members=latest.members if latest else [],
        buying_group=latest.buying_group if latest else None,
        mqas=shown,
        person_mqls=people,
    )


@router.post(
    "/accounts/{account_id}/decisions",
    operation_id="recordAccountDecision",
    summary="Record the sales decision on the account's open MQA, with its reason",
    status_code=201,
    responses=DECIDE_PROBLEMS,
)
async def post_account_decision(
    account_id: AccountId,
    body: DecisionRequest,
    caller: DecisionWriter,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> AccountDecision:
    asked = Decide(
        lead_id=account_id, outcome=body.outcome, reason=body.reason, note=body.note, register=ACCOUNTS
    )
    recorded = await decide_or_problem(request, asked, body, caller, idempotency_key)
    headers = {"Location": f"/v1/accounts/{account_id}"}
    if recorded.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(  # type: ignore[return-value]
        AccountDecision.model_validate(recorded.body).model_dump(mode="json"),
        status_code=recorded.status,
        headers=headers,
    )
