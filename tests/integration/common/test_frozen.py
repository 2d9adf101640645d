"""services/common/frozen.py on a real PostgreSQL: a session of the same service that holds a row lock
another of its sessions waits on, in a transaction older than the limit, is ended and the waiter goes on;
a blocker of another application, or a young transaction, is left alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.common.db import connect, create_engine
from services.common.frozen import end_frozen_blockers
from tests.support import wait_until

APP = "leadstate-frozen-test"


@pytest.fixture
async def row(database_url: str) -> AsyncIterator[str]:
    table = f"public.frozen_{uuid.uuid4().hex[:8]}"
    admin = await connect(database_url)
    await admin.execute(
        f"CREATE TABLE {table} (id int PRIMARY KEY, v int); INSERT INTO {table} VALUES (1, 0)"
    )
    yield table
    await admin.execute(f"DROP TABLE {table}")
    await admin.close()


async def _lock_and_wait(
    database_url: str, table: str, holder_app: str
) -> tuple[asyncpg.Connection, asyncio.Task]:
    """A holder that locked the row and then fell silent, and a waiter of APP blocked on it."""
    holder = await connect(database_url, application_name=holder_app)
    await holder.execute("BEGIN")
    await holder.execute(f"UPDATE {table} SET v = 1 WHERE id = 1")
    waiter = await connect(database_url, application_name=APP)
    task = asyncio.create_task(waiter.execute(f"UPDATE {table} SET v = 2 WHERE id = 1"))
    watcher = await connect(database_url)
    try:

        async def waiting() -> bool:
            return bool(
                await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = $1 AND wait_event_type = 'Lock'",
                    APP,
                )
            )

        await wait_until(waiting, what="the waiter blocked on the holder's row lock")
    finally:
        await watcher.close()
    task.add_done_callback(lambda _: asyncio.ensure_future(waiter.close()))
    return holder, task


async def went_on(waiter: asyncio.Task) -> None:
    """The waiter's UPDATE finished (its error, if any, raised here)."""

    async def finished() -> bool:
        return waiter.done()

    await wait_until(finished, timeout_s=60, what="the waiter's UPDATE to go through")
    await waiter


async def test_a_frozen_session_of_the_same_service_is_ended_and_the_waiter_goes_on(
    database_url: str, row: str
) -> None:
    holder, waiter = await _lock_and_wait(database_url, row, APP)
    holder_pid = holder.get_server_pid()
    engine = create_engine(database_url, pool_size=1)
    try:
        assert await end_frozen_blockers(engine, APP, older_than_s=0.0) == [holder_pid]
        await went_on(waiter)
        admin = await connect(database_url)
        try:
            assert await admin.fetchval(f"SELECT v FROM {row} WHERE id = 1") == 2  # the holder rolled back
        finally:
            await admin.close()
        with pytest.raises((asyncpg.PostgresConnectionError, asyncpg.InterfaceError, ConnectionError)):
            await holder.execute("COMMIT")
    finally:
        await engine.dispose()
        holder.terminate()


@pytest.mark.parametrize("holder_app, older_than_s", [("someone-else", 0.0), (APP, 3600.0)])
async def test_other_applications_and_young_transactions_are_left_alone(
    database_url: str, row: str, holder_app: str, older_than_s: float
) -> None:
    holder, waiter = await _lock_and_wait(database_url, row, holder_app)
    engine = create_engine(database_url, pool_size=1)
    try:
        assert await end_frozen_blockers(engine, APP, older_than_s=older_than_s) == []
        assert not waiter.done()
        await holder.execute("ROLLBACK")  # the holder was never ended: it can still finish its transaction
        await went_on(waiter)
    finally:
        await engine.dispose()
        await holder.close()
