"""A database that cannot be reached is the service's problem, not the client's: 503 with Retry-After,
so a sales tool retries (with its Idempotency-Key) instead of seeing a 500.

Only a failure to reach the database counts: SQLAlchemy's connection errors, asyncpg's, and a refused,
reset, unresolvable, timed-out or vanished socket raised on the way through the database driver. Any
other OSError (a policy file gone missing, a permission denied) is a fault of this service, answered as
one (500, logged with its traceback), not passed off as an outage to retry."""

from __future__ import annotations

import logging
from types import TracebackType

from asyncpg.exceptions import CannotConnectNowError, PostgresConnectionError
from fastapi import FastAPI, Request
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.responses import Response

from .problems import problem_response

log = logging.getLogger(__name__)
# Raised by the driver or SQLAlchemy only: always the database.
DATABASE_ERRORS = (OperationalError, InterfaceError, PostgresConnectionError, CannotConnectNowError)
# Raised by any socket or file: the database's only when the driver was on the way (see
# _through_the_driver). OSError as a whole: a stopped local PostgreSQL's Unix socket is simply gone
# (FileNotFoundError), a remote one refuses, resets, times out or does not resolve.
SOCKET_ERRORS = (OSError,)
DRIVERS = ("asyncpg", "sqlalchemy")


def is_database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DATABASE_ERRORS):
        return True
    return isinstance(exc, SOCKET_ERRORS) and _through_the_driver(exc.__traceback__)


def _through_the_driver(tb: TracebackType | None) -> bool:
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.split(".")[0] in DRIVERS:
            return True
        tb = tb.tb_next
    return False


def install_unavailable_handler(app: FastAPI) -> None:
    async def unavailable(request: Request, exc: Exception) -> Response:
        if not is_database_unavailable(exc):
            raise exc  # to the app's handler of unexpected errors: a 500 with the traceback logged
        log.warning("database unavailable", extra={"path": request.url.path, "error": str(exc)[:200]})
        return problem_response(
            503,
            "the database is unavailable; nothing was recorded, retry later",
            headers={"Retry-After": "5"},
            instance=request.url.path,
        )

    for kind in DATABASE_ERRORS + SOCKET_ERRORS:
        app.add_exception_handler(kind, unavailable)
