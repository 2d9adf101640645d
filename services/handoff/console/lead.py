"""A lead's page: its MQL episodes with their decisions (the API's lead view, from the handoff's own
tables), the timeline of its events and its score over time (from the qualifier's API). When the
qualifier cannot answer in time the page still shows the episodes and decisions, with a note saying
the timeline is unavailable and why."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..api.present import lead_view
from ..inbox import lead_history
from ..qualifier_client import QualifierClient, QualifierUnavailable, TimelineEntry
from ..state import handoff_state
from .charts import line_chart
from .i18n import N_
from .inbox import OUTCOMES
from .pages import MqlReaderUser, PageError, console_state, render, viewer_for
from .timeline_words import entry_text

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/leads/{lead_id}")
async def lead_page(request: Request, lead_id: str, user: MqlReaderUser) -> Response:
    state = handoff_state(request)
    policy = console_state(request).policy
    # The timeline is asked for while the handoff reads its own tables: the page waits for the slower one.
    asked = asyncio.create_task(timeline_of(state.qualifier, lead_id))
    try:
        async with state.database.sessions() as session:
            history = await lead_history(session, lead_id)
    except BaseException:
        asked.cancel()
        raise
    if not history:
        asked.cancel()
        raise PageError(
            404,
            N_("Unknown lead"),
            N_("The handoff never received an MQL for lead %(lead)s."),
            lead=lead_id,
        )
    timeline, policy_version, unavailable = await asked
    lead = lead_view(lead_id, history, state.policy, datetime.now(UTC))
    viewer = viewer_for(request)
    marks = [(m.qualified_at, f"MQL {m.episode}") for m in lead.mqls]
    marks += [
        (m.decision.decided_at, viewer.gettext(OUTCOMES.get(m.decision.outcome, m.decision.outcome)))
        for m in lead.mqls
        if m.decision
    ]
    chart = line_chart(
        [(e.time, e.score) for e in timeline if e.score is not None],
        title=viewer.gettext(
            N_("Engagement score of %(lead)s over time"), lead=lead.attributes.get("name") or lead_id
        ),
        marks=marks,
        when=viewer.when,  # the axis on the viewer's clock, as every time on the page
        empty=viewer.gettext(N_("No events recorded for this lead.")),
    )
    topics, reasons = policy.topics, {r.code: r.label for r in (*policy.sql_reasons, *policy.not_sql_reasons)}
    context = {
        "lead": lead,
        "account_id": history[0][0].account_id,  # the newest MQL's account: a link to its company
        "timeline": [(e, entry_text(e, viewer, topics, reasons)) for e in reversed(timeline)],
        "chart": chart,
        "policy_version": policy_version or policy.version,
        "timeline_unavailable": unavailable,
        "outcomes": OUTCOMES,
        "topic_labels": topics,
        "reason_labels": reasons,
    }
    return render(request, "lead.html", context, user=user)


async def timeline_of(
    qualifier: QualifierClient, lead_id: str
) -> tuple[list[TimelineEntry], str | None, str | None]:
    """The events, the policy version they were scored under, and why they are missing if they are."""
    try:
        found = await qualifier.timeline(lead_id)
    except QualifierUnavailable as exc:
        return [], None, str(exc)
    return (found.events, found.policy_version, None) if found is not None else ([], None, None)
