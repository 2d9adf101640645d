"""Handoff wiring: the sales API, the `lead.mql` projection and the decisions outbox relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app import build_app
from services.common.consumer import ConsumerConfig
from services.common.health import Readiness
from services.common.outbox import Outbox
from services.common.runtime import BrokerLink, Database, Worker
from services.common.settings import Settings

from .projection import DECISION_TYPES, MQL_TYPES, project
from .tables import outbox, processed


def create_app(settings: Settings) -> FastAPI:
    database = Database.connect(settings.require_database_url())
    broker = BrokerLink(settings.require_kafka_bootstrap())
    worker = Worker(
        config=ConsumerConfig(
            name="handoff",
            topics=(settings.topic_mql, settings.topic_decisions),
            group_id=settings.handoff_group,
            dead_letter_topic=settings.topic_dead_letter,
            expected_types={settings.topic_mql: MQL_TYPES, settings.topic_decisions: DECISION_TYPES},
            max_records=settings.consumer_batch_max,
        ),
        bootstrap=settings.require_kafka_bootstrap(),
        database=database,
        broker=broker,
        processed=processed,
        handler=project,
        outbox=Outbox(outbox),
        poll_s=settings.outbox_poll_s,
    )
    readiness = Readiness()
    readiness.add("database", database.check)
    readiness.add("broker", broker.check)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broker.start()
        worker.start()
        yield
        await worker.stop()
        await broker.close()
        await database.close()

    app = build_app(
        service="handoff",
        title="leadstate handoff",
        description="The sales API: explained MQLs in, decisions with reasons out.",
        readiness=readiness,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.worker = worker
    return app
