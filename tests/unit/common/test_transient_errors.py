"""Infrastructure errors retry the batch; only errors of a message may send it to the dead-letter topic."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from services.common.consumer import is_transient


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        ConnectionRefusedError(111, "Connection refused"),
        DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True),
    ],
)
def test_infrastructure_errors_are_retried(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [ValueError("bad data"), KeyError("lead_id"), asyncpg.exceptions.UniqueViolationError("duplicate key")],
)
def test_message_errors_are_not(error: BaseException) -> None:
    assert not is_transient(error)
