"""A lead's page: its MQL episodes with their decisions (the API's lead view), the timeline of its events
and its score over time."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..api.present import lead_view
from ..inbox import lead_history
from ..state import handoff_state
from .charts import line_chart
from .i18n import N_
from .inbox import OUTCOMES
from .pages import MqlReaderUser, PageError, console_state, render
from .timeline import lead_timeline

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/leads/{lead_id}")
async def lead_page(request: Request, lead_id: str, user: MqlReaderUser) -> Response:
    state = handoff_state(request)
    policy = console_state(request).policy
    async with state.database.sessions() as session:
        history = await lead_history(session, lead_id)
        if not history:
            raise PageError(
                404,
                N_("Unknown lead"),
                N_("The handoff never received an MQL for lead %(lead)s."),
                lead=lead_id,
            )
        timeline = await lead_timeline(session, lead_id, policy)
    lead = lead_view(lead_id, history, state.policy, datetime.now(UTC))
    marks = [(m.qualified_at, f"MQL {m.episode}") for m in lead.mqls]
    marks += [(m.decision.decided_at, m.decision.outcome.upper()) for m in lead.mqls if m.decision]
    chart = line_chart(
        [(e.time, e.score) for e in timeline if e.score is not None],
        title=f"Engagement score of {lead.attributes.get('name') or lead_id} over time",
        marks=marks,
    )
    context = {
        "lead": lead,
        "timeline": list(reversed(timeline)),
        "chart": chart,
        "policy_version": policy.version,
        "outcomes": OUTCOMES,
        "topic_labels": policy.topics,
        "reason_labels": {r.code: r.label for r in (*policy.sql_reasons, *policy.not_sql_reasons)},
    }
    return render(request, "lead.html", context, user=user)
