"""`leadstate policy explain LEAD_ID`: a stored lead's state and how each rule of the policy evaluates."""

from __future__ import annotations

from datetime import datetime

from services.common.policy import LeadState, Policy, evaluate, explain
from services.common.policy.episode import blocked_reason

from .store import stored_lead


async def explain_lead(database_url: str, ref: str, policy: Policy, at: datetime) -> list[str] | None:
    from services.common.db import create_engine, session_factory

    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            found = await stored_lead(session, ref)
    finally:
        await engine.dispose()
    return None if found is None else describe_lead(found[1], policy, at)


def describe_lead(state: LeadState, policy: Policy, at: datetime) -> list[str]:
    first = explain(state, policy.rules[0].name, policy, at)
    ids = state.identities()
    lines = [
        f"lead {state.lead_id}: stage {state.stage}, episode {state.episode}"
        + (f", MQL at {state.mql_at.isoformat()}" if state.mql_at else "")
        + (f", decided at {state.decided_at.isoformat()}" if state.decided_at else ""),
        f"  identities: user id {ids['user_id'] or '-'}, email {ids['email'] or '-'}, "
        f"anonymous ids {', '.join(ids['anonymous_ids']) or '-'}",
        "  attributes: "
        + (", ".join(f"{k} {v}" for k, v in sorted(state.attributes.items()) if v is not None) or "none yet"),
        f"  score at {at.isoformat(timespec='seconds')}: {first['score']['value']:g} ("
        + ", ".join(f"{k} {v:g}" for k, v in first["score"]["components"].items())
        + ")",
        "  interests: " + (", ".join(f"{i['label']} {i['weight']:g}" for i in first["interests"]) or "none"),
        "  activity: "
        + ", ".join(f"{k} {n}" for k, n in sorted(state.counts.items()))
        + (f"; last {state.last_activity_at.isoformat()}" if state.last_activity_at else ""),
        f"rules of policy {policy.version}:",
    ]
    evaluation = evaluate(state, policy, at)
    for result in evaluation.results:
        lines.append(f"  [{'x' if result.matched else ' '}] {result.rule_name}")
        lines.extend(f"      met: {text}" for text in result.satisfied)
        lines.extend(f"      missing: {text}" for text in result.missing)
    blocked = blocked_reason(state, policy)
    if blocked:
        lines.append(f"no new MQL now: {blocked}")
    elif evaluation.mql:
        lines.append(f"would become an MQL now under rule {evaluation.mql.rule_name}")
    return lines
