"""The database: the async SQLAlchemy engine and sessions (created by each service's wiring, never at
import time), and `connect()`, the one plain asyncpg connection from a URL (the password, a unix socket in
`?host=`, the port and the database all come from the URL)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def async_url(url: str) -> str:
    """Accept plain postgresql:// URLs (as users and pgserver write them) and use the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    pool_size: int = 5,
    idle_in_transaction_s: float | None = None,
    application_name: str | None = None,
) -> AsyncEngine:
    """`idle_in_transaction_s`: PostgreSQL ends a session whose transaction waits on its client longer
    (a process frozen mid-transaction, SIGSTOP or a paused VM, releases its row locks that way).
    `application_name` names the sessions in pg_stat_activity (services/common/frozen.py finds a frozen
    member's sessions by it)."""
    connect_args: dict[str, object] = {"timeout": 5, "command_timeout": 30}
    server_settings: dict[str, str] = {}
    if idle_in_transaction_s is not None:
        server_settings["idle_in_transaction_session_timeout"] = str(int(idle_in_transaction_s * 1000))
    if application_name is not None:
        server_settings["application_name"] = application_name
    if server_settings:
        connect_args["server_settings"] = server_settings
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping per checkout: it doubled a consumer batch's time. A connection that died fails its batch
        # (retried) or request (503) and SQLAlchemy then drops the stale pool.
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args=connect_args,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def connect(
    url: str, *, database: str | None = None, application_name: str | None = None
) -> asyncpg.Connection:
    """An asyncpg connection to the URL's database (or `database` on the same server, e.g. `postgres`
    to create one). pgserver's URLs name a unix socket in `?host=`."""
    parsed = make_url(url)
    return await asyncpg.connect(
        user=parsed.username or "postgres",
        password=parsed.password,
        host=parsed.query.get("host") or parsed.host,
        port=parsed.port,
        database=database or parsed.database or "postgres",
        server_settings={"application_name": application_name} if application_name else None,
    )


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        pool_size: int = 5,
        idle_in_transaction_s: float | None = None,
        application_name: str | None = None,
    ) -> Database:
        engine = create_engine(
            url,
            pool_size=pool_size,
            idle_in_transaction_s=idle_in_transaction_s,
            application_name=application_name,
        )
        return cls(engine, session_factory(engine))

    async def check(self) -> None:
        await ping(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()
