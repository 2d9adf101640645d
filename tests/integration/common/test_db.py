"""services/common/db.py against a password-protected role: `connect()` and the services' `Database` both
pass the URL's password on (a role that needs one cannot connect otherwise, whatever PGPASSWORD says)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.common.db import Database, connect


def _edit(path: Path, old: str, new: str) -> None:
    text_ = path.read_text()
    path.write_text(new + text_ if old == "" else text_.replace(old, new))


@pytest.fixture
async def password_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The test database's URL as a new role that must give its password (scram-sha-256)."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    role, password = f"pw_{uuid.uuid4().hex[:10]}", "s3cret-" + uuid.uuid4().hex[:8]
    admin = await connect(database_url)
    try:
        hba = Path(await admin.fetchval("SHOW hba_file"))
        rule = f"local all {role} scram-sha-256\nhost all {role} all scram-sha-256\n"
        try:
            _edit(hba, "", rule)
        except OSError:
            pytest.skip("the server's pg_hba.conf is not writable here")
        await admin.execute("SET password_encryption = 'scram-sha-256'")
        await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        await admin.execute(f'GRANT ALL ON DATABASE "{make_url(database_url).database}" TO {role}')
        await admin.execute("SELECT pg_reload_conf()")
        yield (
            make_url(database_url).set(username=role, password=password).render_as_string(hide_password=False)
        )
    finally:
        _edit(hba, rule, "")
        await admin.execute("SELECT pg_reload_conf()")
        await admin.close()


async def test_connect_and_the_engine_pass_the_password(password_url: str) -> None:
    conn = await connect(password_url)
    try:
        assert await conn.fetchval("SELECT current_user") == make_url(password_url).username
    finally:
        await conn.close()
    database = Database.connect(password_url, pool_size=1)
    try:
        async with database.engine.connect() as engine_conn:
            assert (await engine_conn.execute(text("SELECT current_user"))).scalar() == make_url(
                password_url
            ).username
    finally:
        await database.close()


async def test_a_wrong_password_is_refused(password_url: str) -> None:
    wrong = make_url(password_url).set(password="wrong").render_as_string(hide_password=False)
    with pytest.raises(asyncpg.InvalidPasswordError):
        await connect(wrong)
