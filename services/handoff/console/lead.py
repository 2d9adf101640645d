"""A lead's page: its MQL episodes with their decisions (the API's lead view, from the handoff's own
tables), the timeline of its events and its score over time (from the qualifier's API). When the
qualifier cannot answer in time the page still shows the episodes and decisions, with a note saying
the timeline is unavailable and why."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..api.present import lead_view
from ..inbox import lead_history
from ..qualifier_client import QualifierUnavailable, TimelineEntry
from ..state import handoff_state
from .charts import line_chart
from .pages import MqlReaderUser, PageError, render

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/leads/{lead_id}")
async def lead_page(request: Request, lead_id: str, user: MqlReaderUser) -> Response:
    state = handoff_state(request)
    async with state.database.sessions() as session:
        history = await lead_history(session, lead_id)
    if not history:
        raise PageError(404, "Unknown lead", f"The handoff never received an MQL for lead {lead_id!r}.")
    timeline: list[TimelineEntry] = []
    policy_version, unavailable = None, None
    try:
        found = await state.qualifier.timeline(lead_id)
    except QualifierUnavailable as exc:
        unavailable = str(exc)
    else:
        if found is not None:
            timeline, policy_version = found.events, found.policy_version
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
        "policy_version": policy_version or state.policy_file.policy.version,
        "timeline_unavailable": unavailable,
    }
    return render(request, "lead.html", context, user=user)
