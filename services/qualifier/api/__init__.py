"""The qualifier's HTTP API: what it owns, served to the handoff and to people with an API key.

- `leads`: a lead's timeline with its score over time (the stitched anonymous part included) and how
  the running policy explains it;
- `simulations`: the policy lab's jobs (qualifier.jobs, kind `simulation`);
- `suggestions`: the policy advisor's jobs (qualifier.jobs, kind `suggestion`).

Keys and scopes are the handoff's (LEADSTATE_API_KEYS, services/common/callers.py). A new kind of
background job (suggestions, …) is a module here with its router, added to ROUTERS (and its larger body
limit to BODY_LIMITS), running its work through `services/qualifier/jobs.py`.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.common.body_limit_middleware import BodyLimit
from services.common.lab_api import BODY_LIMITS as SIMULATION_BODY_LIMITS
from services.common.unavailable import install_unavailable_handler

from . import leads, simulations, suggestions
from .state import QualifierState

ROUTERS = (leads.router, simulations.router, suggestions.router)
BODY_LIMITS = {**SIMULATION_BODY_LIMITS}
MAX_BODY_BYTES = 16 * 1024  # nothing else takes a larger body (a suggestions request is a few fields)

DESCRIPTION = """\
The qualifier's API: a lead's timeline with its score over time, how the running policy explains a lead,
the policy lab (simulations as background jobs) and the policy advisor (suggestions, also jobs).
Served on LEADSTATE_QUALIFIER_PORT beside /healthz, /readyz and /metrics; the handoff's console and its
/v1/policy/simulations read it.

Authenticate with `Authorization: Bearer <key>`: the keys and scopes of `LEADSTATE_API_KEYS`, as on the
handoff (`mql:read` for leads, `reports:read` for the lab and the advisor). Every error is
`application/problem+json`.
"""


def mount_api(app: FastAPI, state: QualifierState) -> None:
    app.state.qualifier = state
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES, larger=BODY_LIMITS)
    install_unavailable_handler(app)
    for router in ROUTERS:
        app.include_router(router)
