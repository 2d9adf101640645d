"""What the API's job routes share (simulations, suggestions): starting an accepted job and answering 202
with its Location, and a stored job shown as the route's model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse

from services.common.problems import Problem

from ..jobs import create_job, job_limits, read_job, start_job
from .state import QualifierState

View = TypeVar("View", bound=BaseModel)


async def accepted(
    session: AsyncSession,
    state: QualifierState,
    *,
    kind: str,
    params: dict[str, Any],
    by: str,
    work: Callable[..., dict[str, Any]],
    args: tuple[Any, ...],
    path: str,
    view: Callable[[dict[str, Any] | None], BaseModel],
) -> JSONResponse:
    """Record the job, start `work(*args)` in the background, answer 202 with `path/<id>` to poll."""
    job_id = await create_job(session, kind=kind, params=params, by=by)
    start_job(
        state.jobs, state.database.sessions, job_id, work=work, args=args, limits=job_limits(state.settings)
    )
    job = await read_job(session, kind, job_id)
    body = view(job).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": f"{path}/{job_id}"})


async def stored_job(session: AsyncSession, kind: str, job_id: str, *, what: str) -> dict[str, Any]:
    """The job a GET names, or the 404 saying there is no such `what`."""
    job = await read_job(session, kind, job_id)
    if job is None:
        raise Problem(404, f"no {what} {job_id!r}")
    return job


def present(model: type[View], job: dict[str, Any] | None, *, id_field: str, result_field: str) -> View:
    """A job row as the route's model: its params, its id and result under the route's own names."""
    assert job is not None
    fields = {**job, **job["params"], id_field: job["job_id"], result_field: job["result"]}
    return model.model_validate({k: fields.get(k) for k in model.model_fields})
