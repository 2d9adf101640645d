"""The tracking endpoints: Segment's HTTP Tracking API, one route per call type plus /v1/batch.

Routes are thin: `Intake` does the work. analytics.js posts to the one-letter paths (/v1/t, /v1/p, …);
they are the same routes, left out of the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from .intake import Intake
from .openapi import MODELS, RESPONSES, Batch, request_body

router = APIRouter(prefix="/v1", tags=["tracking"])

_SUMMARIES = {
    "track": "Record an action the user performed",
    "identify": "Say who the user is and record their traits",
    "page": "Record a web page view",
    "screen": "Record an app screen view",
    "group": "Associate the user with an account",
    "alias": "Merge a previous id into a user id",
    None: "Send several calls at once (what Segment's server SDKs use)",
}


def _endpoint(kind: str | None) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        intake: Intake = request.app.state.intake
        return await intake.accept(request, kind)

    endpoint.__name__ = kind or "batch"
    return endpoint


_ROUTES: list[tuple[str | None, type[BaseModel]]] = [*MODELS.items(), (None, Batch)]
for _kind, _model in _ROUTES:
    _name = _kind or "batch"
    router.add_api_route(
        f"/{_name}",
        _endpoint(_kind),
        methods=["POST"],
        operation_id=_name,
        summary=_SUMMARIES[_kind],
        description=(_model.__doc__ or "").strip(),
        response_model=None,
        responses=RESPONSES,
        openapi_extra=request_body(_model),
    )
    router.add_api_route(f"/{_name[0]}", _endpoint(_kind), methods=["POST"], include_in_schema=False)
