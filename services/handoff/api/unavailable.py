"""A database that cannot be reached is the service's problem, not the client's: 503 with Retry-After,
so a sales tool retries (with its Idempotency-Key) instead of seeing a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.responses import Response

from services.common.problems import problem_response

log = logging.getLogger(__name__)
UNAVAILABLE = (OperationalError, InterfaceError, OSError, TimeoutError)


def install_unavailable_handler(app: FastAPI) -> None:
    async def unavailable(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable", extra={"path": request.url.path, "error": str(exc)[:200]})
        return problem_response(
            503,
            "the database is unavailable; nothing was recorded, retry later",
            headers={"Retry-After": "5"},
            instance=request.url.path,
        )

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, unavailable)
