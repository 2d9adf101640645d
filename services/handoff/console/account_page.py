"""An account in the console: the decide form of its inbox card (account_cards.py), and its page: members
and roles, MQA episodes with decisions, the members' timelines merged and each member's score over time
(timelines from the qualifier's API: when it cannot answer, the page says so and shows the rest)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import Response

from ..account_mqa import account_history
from ..api.account_mqa import account_view
from ..decisions import ACCOUNTS, Decide
from ..state import handoff_state
from .charts import line_chart
from .i18n import N_
from .inbox import OUTCOMES, back_to_inbox, decide_from_form
from .lead import timeline_of
from .pages import MqlReaderUser, PageError, UserDep, console_state, redirect, render, viewer_for
from .timeline_words import entry_text

router = APIRouter(prefix="/console", include_in_schema=False)
MAX_TIMELINES = 12  # members whose timelines an account page asks the qualifier for
MAX_MERGED = 300  # rows of the merged timeline (newest first)
AccountId = Annotated[str, Path(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]


@router.post("/accounts/{account_id}/decision")
async def decide(
    request: Request,
    account_id: AccountId,
    user: UserDep,
    csrf: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    form_id: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    asked = Decide(
        lead_id=account_id, outcome=outcome, reason=reason, note=note.strip() or None, register=ACCOUNTS
    )
    await decide_from_form(
        request,
        user,
        csrf,
        asked,
        form_id,
        unknown=PageError(
            404, N_("Unknown account"), N_("No MQA was received for account %(account)s."), account=account_id
        ),
        closed=PageError(
            409,
            N_("Already decided"),
            N_("Account %(account)s has no open MQA any more."),
            account=account_id,
        ),
    )
    return redirect(back_to_inbox(back, decided_account=account_id))


@router.get("/accounts/{account_id}")
async def account_page(request: Request, account_id: AccountId, user: MqlReaderUser) -> Response:
    state = handoff_state(request)
    policy = console_state(request).policy
    async with state.database.sessions() as session:
        history = await account_history(session, account_id)
    if history.empty:
        raise PageError(
            404,
            N_("Unknown account"),
            N_("The handoff never received an MQA or MQL for account %(account)s."),
            account=account_id,
        )
    reasons = state.policy
    account = account_view(account_id, history, reasons, datetime.now(UTC))
    people = _people(account.members, [m.lead_id for m in account.person_mqls])
    answers = await asyncio.gather(*(timeline_of(state.qualifier, lead) for lead, _ in people))
    viewer = viewer_for(request)
    labels = {r.code: r.label for r in (*policy.sql_reasons, *policy.not_sql_reasons)}
    merged, charts, unavailable = [], [], None
    for (lead, who), (events, _, why) in zip(people, answers, strict=True):
        unavailable = unavailable or why
        merged += [(e, who, lead, entry_text(e, viewer, policy.topics, labels)) for e in events]
        points = [(e.time, e.score) for e in events if e.score is not None]
        if points:
            title = viewer.gettext(N_("Engagement score of %(lead)s over time"), lead=who)
            charts.append((who, lead, line_chart(points, title=title, height=140, when=viewer.when)))
    merged.sort(key=lambda row: row[0].time, reverse=True)
    context = {
        "account": account,
        "timeline": merged[:MAX_MERGED],
        "timeline_more": len(merged) > MAX_MERGED,
        "charts": charts,
        "timeline_unavailable": unavailable,
        "role_labels": {r.name: r.label for r in policy.accounts.roles},
        "outcomes": OUTCOMES,
        "reasons": reasons,
        "topic_labels": policy.topics,
        "reason_labels": {r.code: r.label for r in (*reasons.account_sql, *reasons.account_not_sql)},
        "form_id": str(uuid.uuid4()),
        "back": "",
    }
    return render(request, "account.html", context, user=user)


def _people(members: list[dict[str, Any]], mql_leads: list[str]) -> list[tuple[str, str]]:
    """(lead id, how sales knows them) of the members listed first, then of people with MQLs."""
    seen: dict[str, str] = {}
    for m in members:
        lead = m.get("lead_id")
        if isinstance(lead, str) and lead not in seen:
            seen[lead] = str(m.get("name") or m.get("email") or lead)
    for lead in mql_leads:
        seen.setdefault(lead, lead)
    return list(seen.items())[:MAX_TIMELINES]
