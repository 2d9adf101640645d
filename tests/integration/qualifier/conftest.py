"""The qualifier worker in-process (real uvicorn, real consumer group) against the test's own database,
topics and broker, and the Segment messages the tests feed it (as ingest would put them on the topic)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import jsonschema
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from services.common.db import connect
from services.common.envelope import Envelope, new_envelope, parse_envelope
from services.common.kafka import ensure_topics
from services.common.settings import Settings, load_settings
from services.qualifier.worker import create_app
from testbed import drop_database, fresh_database
from tests.conftest import Topics, settings_env
from tests.support import ROOT, publish, serve_app, wait_until

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
MQL_SCHEMA = json.loads((ROOT / "contracts/events/lead.mql.v1.schema.json").read_text())
DECISION_SCHEMA = json.loads((ROOT / "contracts/events/lead.decision.v1.schema.json").read_text())


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def segment(
    kind: str, when: datetime, *, user: str | None = None, anon: str | None = None, **body: Any
) -> Envelope:
    """One tracking envelope as ingest produces it: data = the Segment message, subject = its routing key."""
    message: dict[str, Any] = {"type": kind, "timestamp": when.isoformat(), **body}
    if user:
        message["userId"] = user
    if anon:
        message["anonymousId"] = anon
    message_id = message.setdefault("messageId", f"m-{kind}-{when.timestamp()}-{user or anon}")
    return new_envelope(
        f"leadstate.{kind}.v1", message, source="ingest", subject=user or anon, time=when, id_=message_id
    )


def seminar_attended(when: datetime, **who: Any) -> Envelope:
    props = {"seminar_id": "sem-mql-design", "title": "MQL design with sales", "topic": "lead-management"}
    return segment("track", when, event="Seminar Attended", properties=props, **who)


def download(when: datetime, asset: str, **who: Any) -> Envelope:
    return segment("track", when, event="Content Downloaded", properties={"asset_id": asset}, **who)


def identify(
    when: datetime, *, title: str = "Marketing Manager", industry: str = "manufacturing", **who: Any
):  # type: ignore[no-untyped-def]
    traits = {
        "email": f"{who.get('user') or who.get('anon')}@example.test",
        "title": title,
        "industry": industry,
    }
    return segment("identify", when, traits=traits, **who)


def assert_valid_mql(envelope: Envelope) -> None:
    assert envelope.type == "leadstate.lead.mql.v1"
    jsonschema.validate(envelope.data, MQL_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert envelope.id == envelope.data["mql_id"] and envelope.subject == envelope.data["lead_id"]


@dataclass
class Qualifier:
    app: FastAPI
    bootstrap: str
    topics: Topics
    db: asyncpg.Connection
    url: str  # its HTTP API

    async def publish(self, envelopes: list[Envelope | bytes], topic: str | None = None) -> None:
        await publish(self.bootstrap, topic or self.topics.events, envelopes)

    async def count(self, sql: str, *args: Any) -> int:
        return int(await self.db.fetchval(sql, *args))

    async def wait_stored(self, envelopes: list[Envelope], *, timeout_s: float = 30) -> None:
        """Until these envelopes are in the event log (a batch commits its MQLs with its events)."""
        ids = [e.id for e in envelopes]

        async def stored() -> bool:
            query = "SELECT count(*) FROM qualifier.events WHERE event_id = ANY($1)"
            return await self.count(query, ids) == len(ids)

        await wait_until(stored, timeout_s=timeout_s, what=f"{len(ids)} events in qualifier.events")

    async def lead(self, lead_id: str) -> asyncpg.Record:
        return await self.db.fetchrow("SELECT * FROM qualifier.leads WHERE lead_id = $1", lead_id)

    async def registered(self, lead_id: str) -> int:
        return await self.count("SELECT count(*) FROM qualifier.mqls WHERE lead_id = $1", lead_id)

    async def mqls(self, lead_id: str, *, expect: int, timeout_s: float = 20) -> list[Envelope]:
        """The MQL envelopes of one lead on lead.mql (the topic is shared by a module's tests)."""
        return await self.on_topic(self.topics.mql, lead_id, expect=expect, timeout_s=timeout_s)

    async def on_topic(
        self, topic: str, lead_id: str, *, expect: int, timeout_s: float = 20
    ) -> list[Envelope]:
        """The envelopes keyed by one lead on a topic, in order."""
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest", group_id=None
        )
        await consumer.start()
        found: list[Envelope] = []
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=200)
                found += [
                    parse_envelope(r.value) for rs in batch.values() for r in rs if r.key == lead_id.encode()
                ]
                if len(found) >= expect and not batch:  # caught up: more than expected would show
                    break
        finally:
            await consumer.stop()
        assert len(found) == expect, f"expected {expect} events of {lead_id} on {topic}, got {len(found)}"
        return found


@asynccontextmanager
async def running_qualifier(
    settings: Settings, kafka_bootstrap: str, topics: Topics, database_url: str
) -> AsyncIterator[Qualifier]:
    app = create_app(settings)
    db = await connect(database_url)
    try:
        async with serve_app(app) as url:
            yield Qualifier(app, kafka_bootstrap, topics, db, url)
    finally:
        await db.close()


@pytest.fixture
async def qualifier(
    settings: Settings, kafka_bootstrap: str, topics: Topics, database_url: str
) -> AsyncIterator[Qualifier]:
    """A worker of the test's own: for tests that look at whole tables or topics."""
    async with running_qualifier(settings, kafka_bootstrap, topics, database_url) as q:
        yield q


@pytest.fixture(scope="module")
def module_env(pg_url: str, template_db: str, kafka_bootstrap: str) -> Iterator[dict[str, str]]:
    """A database and topics for one test module: its tests share one worker (joining a group is slow)."""
    url = fresh_database(pg_url, template_db, "ls_test")
    suffix = uuid.uuid4().hex[:8]
    names = Topics.suffixed(suffix)
    asyncio.run(ensure_topics(kafka_bootstrap, names.all(), partitions=3, compacted=names.compacted()))
    yield settings_env(url, kafka_bootstrap, names)
    drop_database(pg_url, str(make_url(url).database))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_qualifier(module_env: dict[str, str]) -> AsyncIterator[Qualifier]:
    """One worker for a module whose tests each use their own leads (module marked loop_scope=module)."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in module_env.items():
            patch.setenv(key, value)
        settings = load_settings()
    topics = Topics(
        *(
            module_env[f"LEADSTATE_TOPIC_{k}"]
            for k in ("EVENTS", "MQL", "DECISIONS", "DEAD_LETTER", "LEAD_STATE")
        )
    )
    app = create_app(settings)
    db = await connect(module_env["LEADSTATE_DATABASE_URL"])
    try:
        async with serve_app(app) as url:
            yield Qualifier(app, module_env["LEADSTATE_KAFKA_BOOTSTRAP"], topics, db, url)
    finally:
        await db.close()


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path
