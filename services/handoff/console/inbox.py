"""The sales inbox page and the decision form on each card: the same inbox query and the same
`record_decision` as the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from ..api.present import inbox_items
from ..audit import Actor
from ..cursor import CursorError
from ..decisions import (
    MAX_NOTE,
    Decide,
    IdempotencyKeyReused,
    NoOpenMql,
    NoteTooLong,
    UnknownLead,
    UnknownOutcome,
    UnknownReason,
)
from ..decisions import (
    decide as decide_flow,
)
from ..inbox import InboxQuery, inbox_page
from ..sla import SLA_STATES
from ..state import handoff_state
from .account_cards import account_cards
from .i18n import N_, Msg
from .pages import (
    ConsoleUser,
    MqlReaderUser,
    PageError,
    UserDep,
    check_csrf,
    console_state,
    redirect,
    render,
)

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE_SIZE = 25
FILTERS = ("order", "rule", "topic", "sla")
OUTCOMES = {"sql": N_("SQL"), "rejected": N_("Rejected"), "recycled": N_("Recycled (not now)")}


def _choice(field: str, value: str | None, allowed: tuple[str, ...] | None) -> str | None:
    if not value:
        return None
    if len(value) > 200 or (allowed is not None and value not in allowed):
        if allowed is None:
            raise PageError(422, N_("Unknown filter"), N_("%(field)s: the value is too long."), field=field)
        raise PageError(
            422,
            N_("Unknown filter"),
            N_("%(field)s: %(value)s is not one of %(options)s."),
            field=field,
            value=repr(value[:200]),
            options=", ".join(allowed),
        )
    return value


@router.get("/inbox")
async def inbox(
    request: Request,
    user: MqlReaderUser,
    order: str = "oldest",
    rule: str | None = None,
    topic: str | None = None,
    sla: str | None = None,
    cursor: str | None = None,
    decided: str | None = None,
    decided_account: str | None = None,
) -> Response:
    state = handoff_state(request)
    query = InboxQuery(
        order=_choice("order", order, ("oldest", "newest")) or "oldest",  # type: ignore[arg-type]
        rule=_choice("rule", rule, None),
        topic=_choice("topic", topic, None),
        sla=_choice("sla", sla, SLA_STATES),  # type: ignore[arg-type]
    )
    now = datetime.now(UTC)
    async with state.database.sessions() as session:
        try:
            rows, next_cursor = await inbox_page(
                session,
                query,
                policy=state.policy,
                cursors=state.cursors,
                cursor=cursor or None,
                limit=PAGE_SIZE,
                now=now,
            )
        except CursorError as exc:
            raise PageError(
                400, N_("Bad page link"), N_("This page link is not valid any more: %(why)s."), why=str(exc)
            ) from None
        # Open MQAs head the first page; their people's MQLs are under them on every page, not apart.
        accounts = await account_cards(session, query, state.policy, now)
    filters = {k: v for k, v in (("order", order), ("rule", rule), ("topic", topic), ("sla", sla)) if v}
    full = console_state(request).policy
    context = {
        "cards": inbox_items([r for r in rows if r.lead_id not in accounts.grouped], state.policy, now),
        "account_of": {r.lead_id: r.account_id for r in rows if r.account_id},  # a link to its company
        "account_cards": accounts.cards if not cursor else [],
        "more_accounts": accounts.more and not cursor,
        "account_reasons": (state.policy.account_sql, state.policy.account_not_sql),
        "role_labels": {r.name: r.label for r in full.accounts.roles},
        "filters": filters,
        "back": urlencode(filters),
        "next_link": f"?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None,
        "rules": [*(r.name for r in full.rules), *(r.name for r in full.accounts.rules)],
        "topics": full.topics,
        "topic_labels": full.topics,
        "sla_states": SLA_STATES,
        "reasons": state.policy,
        "outcomes": OUTCOMES,
        "decided": decided,
        "decided_account": decided_account,
        "form_id": str(uuid.uuid4()),
    }
    return render(request, "inbox.html", context, user=user)


@router.post("/leads/{lead_id}/decision")
async def decide(
    request: Request,
    lead_id: str,
    user: UserDep,
    csrf: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    form_id: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    asked = Decide(lead_id=lead_id, outcome=outcome, reason=reason, note=note.strip() or None)
    await decide_from_form(
        request,
        user,
        csrf,
        asked,
        form_id,
        unknown=PageError(
            404, N_("Unknown lead"), N_("No MQL was received for lead %(lead)s."), lead=lead_id
        ),
        closed=PageError(
            409, N_("Already decided"), N_("Lead %(lead)s has no open MQL any more."), lead=lead_id
        ),
    )
    return redirect(back_to_inbox(back, decided=lead_id))


def back_to_inbox(back: str, **flash: str) -> str:
    """The inbox with the filters the form was sent from, and what to say about the decision."""
    kept = [(k, v) for k, v in parse_qsl(back) if k in FILTERS]
    return f"/console/inbox?{urlencode([*kept, *flash.items()])}"


async def decide_from_form(
    request: Request,
    user: ConsoleUser,
    csrf: str,
    asked: Decide,
    form_id: str,
    *,
    unknown: PageError,
    closed: PageError,
) -> None:
    """A decide form (a lead's or an account's) through the API's decide flow; each refusal a page."""
    if not user.can("decisions:write"):
        message, params = user.lacks("decisions:write")
        raise PageError(403, N_("Not allowed"), message, **params)
    check_csrf(user, csrf)
    try:
        await decide_flow(
            handoff_state(request).decider,
            asked,
            decided_by=user.session.name,
            caller=user.session.key_id,
            # The form's id makes a double submit a replay of the first answer rather than a 409.
            idempotency_key=f"console:{form_id[:100]}" if form_id else None,
            now=datetime.now(UTC),
            actor=Actor(name=user.actor, address=request.client.host if request.client else None),
        )
    except UnknownOutcome:
        raise PageError(
            422,
            N_("Pick an outcome"),
            N_("Outcome must be one of: %(outcomes)s."),
            outcomes=", ".join(OUTCOMES),
        ) from None
    except UnknownReason as exc:
        raise PageError(
            422,
            N_("Pick a reason"),
            N_("A %(outcome)s decision needs one of: %(reasons)s."),
            outcome=Msg(OUTCOMES[asked.outcome]),
            reasons=tuple(r.label for r in exc.valid),
        ) from None
    except NoteTooLong as exc:
        raise PageError(
            422,
            N_("Note too long"),
            N_("The note has %(length)s characters; at most %(most)s."),
            length=exc.length,
            most=MAX_NOTE,
        ) from None
    except UnknownLead:
        raise unknown from None
    except NoOpenMql:
        raise closed from None
    except IdempotencyKeyReused:
        raise PageError(422, N_("Form reused"), N_("This form was already sent with other values.")) from None
