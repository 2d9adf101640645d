"""The policy page: the MQL rules and the account (MQA) rules in words, the reason codes sales picks
from, the SLA, how to try a change in the policy lab before adopting it, and the advisor's suggestions.

Suggestions come from the qualifier's API (it owns the history; `POST /v1/policy/suggestions`), asked
with the handoff's own key: a person with `reports:read` starts the advisor from the page, which then
shows that job (`?suggestions=<id>`) until it is done: each suggestion's sentence and its patch. Nothing
is applied; when the qualifier cannot answer, the section says so and the rest of the page still shows.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from services.common.policy.account_explain import describe_account_rules
from services.common.policy.explain import describe_policy

from ..audit import Actor, record
from ..qualifier_client import QualifierUnavailable
from ..state import handoff_state
from .advice_words import objective_text, refusal_text, suggestion_text
from .i18n import N_
from .pages import (
    PageError,
    ReportReaderUser,
    UserDep,
    check_csrf,
    console_state,
    redirect,
    render,
    viewer_for,
)
from .people import client_address
from .policy_lab import lab_section

router = APIRouter(prefix="/console", include_in_schema=False)
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
MAX_MIN_DECISIONS = 1_000_000  # as the qualifier's API


@router.get("/policy")
async def policy_page(
    request: Request, user: UserDep, suggestions: str | None = None, simulation: str | None = None
) -> Response:
    policy, viewer = console_state(request).policy, viewer_for(request)
    advice = await _job(request, suggestions) if suggestions else None
    done = advice.get("advice") if advice and isinstance(advice.get("advice"), dict) else None
    context = {
        "policy": policy,
        "rules": list(zip(policy.rules, describe_policy(policy, viewer.language), strict=True)),
        "account_rules": list(
            zip(policy.accounts.rules, describe_account_rules(policy, viewer.language), strict=True)
        ),
        "advice": advice,
        "objective": objective_text(done, viewer) if done else None,
        "suggestions": [(s, suggestion_text(s, viewer, policy)) for s in done.get("suggestions") or []]
        if done
        else [],
        "not_advised": [
            (n.get("subject"), refusal_text({**n, "detail": n.get("message")}, viewer))
            for n in (done.get("not_advised") or [] if done else [])
            if isinstance(n, dict)
        ],
        "can_suggest": user.can("reports:read"),
        "lab": await lab_section(request, user, simulation),
    }
    return render(request, "policy.html", context, user=user)


@router.post("/policy/suggestions")
async def ask_for_suggestions(
    request: Request,
    user: ReportReaderUser,
    csrf: Annotated[str, Form()] = "",
    min_decisions: Annotated[str, Form()] = "30",
) -> Response:
    check_csrf(user, csrf)
    least = min_decisions.strip()
    if not (least.isdigit() and len(least) <= 7 and 1 <= int(least) <= MAX_MIN_DECISIONS):
        message = N_("Least decided MQLs: a whole number from 1 to %(most)s.")
        raise PageError(422, N_("Suggestions"), message, most=f"{MAX_MIN_DECISIONS:,}")
    client = handoff_state(request).qualifier
    try:
        answer = await client.post_suggestions({"min_decisions": int(least)})
    except QualifierUnavailable as exc:
        message = N_("The advisor is unavailable: %(why)s. Retry in a moment.")
        raise PageError(503, N_("Suggestions"), message, why=str(exc)) from None
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status != 202:  # 409: the history cannot support advice; it says what is missing
        viewer = viewer_for(request)
        why = refusal_text(body, viewer) or viewer.gettext(
            N_("the qualifier answered %(status)s"), status=answer.status
        )
        end = "。" if viewer.language == "ja" else "."
        raise PageError(answer.status if answer.status < 500 else 503, N_("No suggestions"), why + end)
    job_id = str(body.get("suggestions_id"))
    async with handoff_state(request).database.sessions() as session, session.begin():
        detail = {"baseline_version": body.get("baseline_version"), "min_decisions": int(least)}
        actor = Actor(name=user.actor, address=client_address(request))
        await record(session, actor, "suggestions.started", job_id, detail)
    return redirect(f"/console/policy?suggestions={job_id}#suggestions")


async def _job(request: Request, job_id: str) -> dict[str, Any]:
    """The advice job as the template shows it: {"id", "status", "error", "advice"}."""
    say = viewer_for(request).gettext
    if not JOB_ID.match(job_id):
        return {"id": job_id, "status": "failed", "error": say(N_("not an advice job id"))}
    try:
        answer = await handoff_state(request).qualifier.get_suggestions(job_id)
    except QualifierUnavailable as exc:
        why = say(N_("the advisor is unavailable: %(why)s"), why=str(exc))
        return {"id": job_id, "status": "unavailable", "error": why}
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status != 200:
        return {"id": job_id, "status": "failed", "error": body.get("detail") or f"answer {answer.status}"}
    return {"id": job_id, **body}
