"""Ingest wiring: settings → broker link → intake → app. Nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from services.common.app import build_app
from services.common.broker import BrokerLink
from services.common.health import Readiness
from services.common.kafka_security import client_security
from services.common.settings import Settings

from . import openapi
from .api import router
from .intake import Intake


def create_app(settings: Settings) -> FastAPI:
    readiness = Readiness()
    broker = BrokerLink(
        settings.require_kafka_bootstrap(),
        request_timeout_s=settings.produce_timeout_s,
        topic_partitions=settings.topic_partitions,
        security=client_security(settings),
    )
    readiness.add("broker", broker.check)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broker.start()
        yield
        await broker.close()

    app = build_app(
        service="ingest",
        title="leadstate ingest",
        description=(
            "Segment-compatible tracking API: point analytics.js or a Segment server SDK at it unchanged. "
            "Answers 200 only after the broker acknowledged every message of the request (acks=all); "
            "each message becomes one CloudEvents envelope on the events topic, its messageId the "
            "envelope id. Write key as HTTP Basic username (empty password) or `writeKey` in the body."
        ),
        readiness=readiness,
        lifespan=lifespan,
        validation_status=400,
    )
    app.state.settings = settings
    app.state.broker = broker
    app.state.intake = Intake(settings, broker)
    app.include_router(router)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Content-Encoding", "X-Retry-Count"],
        expose_headers=["Retry-After", "X-RateLimit-Reset"],
        max_age=600,
    )
    openapi.install(app)
    return app
