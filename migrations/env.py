"""One Alembic environment; one branch and one schema per owning service (`alembic upgrade heads`)."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.db import async_url


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("LEADSTATE_DATABASE_URL")
    if not url:
        raise SystemExit("leadstate: configuration error: LEADSTATE_DATABASE_URL: not set")
    return async_url(url)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=None, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_online())
