"""The policy page's lab section: the recent simulation reports and a form to run one.

The lab runs in the qualifier (it owns the event log; `GET/POST /v1/policy/simulations` there), asked with
the handoff's own key through `QualifierClient`; the handoff records who started a simulation from the
page in its audit trail, as it does for its API. A person with `reports:read` sees the reports and may
start one: a candidate policy pasted or uploaded, checked by the qualifier (an invalid one is a page naming
each rule and line); the page then shows that job (`?simulation=<id>`) until it is done. When the
qualifier cannot answer, the section says so in one line and the rest of the page still shows.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from services.common.policy.limits import MAX_DOCUMENT_BYTES

from ..audit import Actor, record
from ..qualifier_client import Answer, QualifierUnavailable
from ..state import handoff_state
from .i18n import N_, Viewer
from .pages import ConsoleUser, PageError, ReportReaderUser, check_csrf, redirect, viewer_for
from .people import client_address

router = APIRouter(prefix="/console", include_in_schema=False)
PATH = "/console/policy/simulations"
# The form carries the candidate twice at most (pasted and uploaded) and a few small fields; beyond this
# the body-size middleware refuses it before anything parses it.
FORM_MAX_BYTES = 2 * MAX_DOCUMENT_BYTES + 16 * 1024
RECENT = 10
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
TITLE = N_("Policy simulation")


async def lab_section(request: Request, user: ConsoleUser, selected: str | None) -> dict[str, Any]:
    """What the section shows: {"allowed", "unavailable", "recent", "selected"}."""
    if not user.can("reports:read"):
        return {"allowed": False}
    client = handoff_state(request).qualifier
    asked = [client.recent_simulations(RECENT)]
    if selected is not None and JOB_ID.match(selected):
        asked.append(client.get_simulation(selected))
    answers = await asyncio.gather(*asked, return_exceptions=True)
    section: dict[str, Any] = {"allowed": True, "unavailable": None, "recent": [], "selected": None}
    for answer in answers:
        if isinstance(answer, QualifierUnavailable):
            section["unavailable"] = str(answer)
        elif isinstance(answer, BaseException):
            raise answer
    recent = answers[0]
    if isinstance(recent, Answer):
        if recent.status == 200 and isinstance(recent.body, dict):
            section["recent"] = [s for s in recent.body.get("simulations", []) if isinstance(s, dict)]
        else:
            section["unavailable"] = viewer_for(request).gettext(
                N_("the qualifier answered %(status)s for the recent simulations"), status=recent.status
            )
    if selected is not None:
        section["selected"] = _selected(
            selected, answers[1] if len(answers) > 1 else None, viewer_for(request)
        )
    return section


def _selected(job_id: str, answer: object, viewer: Viewer) -> dict[str, Any]:
    if not JOB_ID.match(job_id):
        return {
            "simulation_id": job_id,
            "status": "failed",
            "error": viewer.gettext(N_("not a simulation id")),
        }
    if not isinstance(answer, Answer):  # unavailable: the section's line says why
        return {"simulation_id": job_id, "status": "unavailable"}
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status != 200:
        error = body.get("detail") or viewer.gettext(
            N_("the qualifier answered %(status)s"), status=answer.status
        )
        return {"simulation_id": job_id, "status": "failed", "error": error}
    return body


# Why the lab refused to start (the qualifier's problem `code`); the policy's own problems stay as the
# loader wrote them (line numbers and YAML paths, for whoever edits the file).
REFUSALS = {
    "policy_invalid": N_("the candidate policy is invalid (%(problems)s problems)"),
    "empty_log": N_("the event log is empty: no history to simulate yet"),
}


def _refusal(body: dict[str, Any], viewer: Viewer) -> str:
    code, params = body.get("code"), body.get("params")
    if code in REFUSALS and isinstance(params, dict):
        try:
            return viewer.gettext(REFUSALS[code], **params)
        except (KeyError, TypeError, ValueError):
            pass
    return str(body.get("detail") or "")


@router.post("/policy/simulations")
async def run_simulation(
    request: Request,
    user: ReportReaderUser,
    csrf: Annotated[str, Form()] = "",
    candidate: Annotated[str, Form()] = "",
    candidate_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    check_csrf(user, csrf)
    text = await _candidate(candidate, candidate_file)
    try:
        answer = await handoff_state(request).qualifier.post_simulation(text, "application/yaml")
    except QualifierUnavailable as exc:
        raise PageError(
            503, TITLE, N_("The policy lab is unavailable: %(why)s. Retry in a moment."), why=str(exc)
        ) from None
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status != 202:  # 409 empty history, 422 naming each rule and line: said as the lab said it
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        problems = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors[:20])
        detail = _refusal(body, viewer_for(request)) or viewer_for(request).gettext(
            N_("the qualifier answered %(status)s"), status=answer.status
        )
        status = answer.status if answer.status < 500 else 503
        if problems:
            message = N_("The simulation was not started: %(detail)s. %(problems)s")
            raise PageError(status, TITLE, message, detail=detail, problems=problems)
        raise PageError(status, TITLE, N_("The simulation was not started: %(detail)s."), detail=detail)
    job_id = str(body.get("simulation_id"))
    versions = {k: body.get(k) for k in ("candidate_version", "baseline_version")}
    actor = Actor(name=user.actor, address=client_address(request))
    async with handoff_state(request).database.sessions() as session, session.begin():
        await record(session, actor, "simulation.started", job_id, versions)
    return redirect(f"/console/policy?simulation={job_id}#lab-reports")


async def _candidate(pasted: str, uploaded: UploadFile | None) -> bytes:
    """The uploaded file if one was chosen, else the pasted text; UTF-8 and within a policy's size."""
    raw = await uploaded.read(MAX_DOCUMENT_BYTES + 1) if uploaded is not None and uploaded.filename else b""
    if not raw:
        raw = pasted.encode("utf-8", errors="replace")
    if not raw.strip():
        raise PageError(422, TITLE, N_("Paste a candidate policy (YAML) or choose its file."))
    if len(raw) > MAX_DOCUMENT_BYTES:
        message = N_("The candidate policy is over %(kb)s KB, the largest policy the lab reads.")
        raise PageError(413, TITLE, message, kb=MAX_DOCUMENT_BYTES // 1024)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PageError(422, TITLE, N_("The candidate policy's file is not UTF-8 text.")) from None
    return raw
