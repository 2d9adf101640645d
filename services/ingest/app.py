"""Ingest wiring: settings → broker link → app. Nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app import build_app
from services.common.health import Readiness
from services.common.runtime import BrokerLink
from services.common.settings import Settings

from .api import router


def create_app(settings: Settings) -> FastAPI:
    readiness = Readiness()
    broker = BrokerLink(settings.require_kafka_bootstrap(), request_timeout_s=settings.produce_timeout_s)
    readiness.add("broker", broker.check)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broker.start()
        yield
        await broker.close()

    app = build_app(
        service="ingest",
        title="leadstate ingest",
        description="Segment-compatible tracking API. Answers 200 only after the broker stored the events.",
        readiness=readiness,
        lifespan=lifespan,
        validation_status=400,
    )
    app.state.settings = settings
    app.state.broker = broker
    app.include_router(router)
    return app
