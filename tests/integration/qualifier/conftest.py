"""The qualifier worker in-process (real uvicorn, real consumer group) against the test's own database,
topics and broker, and the Segment messages the tests feed it (as ingest would put them on the topic)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import jsonschema
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from services.common.envelope import Envelope, new_envelope
from services.common.settings import Settings
from services.qualifier.worker import create_app
from tests.conftest import Topics
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
    extra: list[FastAPI] = field(default_factory=list)

    async def publish(self, envelopes: list[Envelope | bytes], topic: str | None = None) -> None:
        await publish(self.bootstrap, topic or self.topics.events, envelopes)

    async def count(self, sql: str, *args: Any) -> int:
        return int(await self.db.fetchval(sql, *args))

    async def wait_stored(self, n: int, *, timeout_s: float = 30) -> None:
        """Until `n` entries are in the event log (each batch commits its MQLs with its events)."""

        async def enough() -> bool:
            return await self.count("SELECT count(*) FROM qualifier.events") >= n

        await wait_until(enough, timeout_s=timeout_s, what=f"{n} events in qualifier.events")

    async def lead(self, lead_id: str) -> asyncpg.Record:
        return await self.db.fetchrow("SELECT * FROM qualifier.leads WHERE lead_id = $1", lead_id)


async def connect(database_url: str) -> asyncpg.Connection:
    url = make_url(database_url)
    return await asyncpg.connect(
        user=url.username, host=url.query.get("host") or url.host, port=url.port, database=url.database
    )


@pytest.fixture
async def qualifier(
    settings: Settings, kafka_bootstrap: str, topics: Topics, database_url: str
) -> AsyncIterator[Qualifier]:
    app = create_app(settings)
    db = await connect(database_url)
    try:
        async with serve_app(app):
            yield Qualifier(app, kafka_bootstrap, topics, db)
    finally:
        await db.close()


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path
