"""The policy page: the MQL rules in words, the reason codes sales picks from, the SLA, and how to try a
change in the policy lab before adopting it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.common.policy.explain import describe_policy

from .pages import UserDep, console_state, render

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/policy")
async def policy_page(request: Request, user: UserDep) -> Response:
    policy = console_state(request).policy
    context = {
        "policy": policy,
        "sentences": describe_policy(policy),
        "rules": list(zip(policy.rules, describe_policy(policy), strict=True)),
    }
    return render(request, "policy.html", context, user=user)
