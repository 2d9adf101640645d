"""Qualifier wiring: a consumer-group member of `lead.events` and `lead.decisions`, its outbox relay,
and its HTTP app: /healthz, /readyz, /metrics and the API of services/qualifier/api/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.common.app import build_app
from services.common.consumer import ConsumerConfig
from services.common.kafka_security import client_security
from services.common.outbox import Outbox
from services.common.policy_file import settings_policy_file
from services.common.runtime import ConsumingService
from services.common.settings import Settings

from .api import DESCRIPTION, mount_api
from .api.state import QualifierState
from .cache import LeadCache
from .decisions import check_decision
from .handlers import DECISION_TYPES, EVENT_TYPES, Qualify
from .partitions import OwnedPartitions
from .stitching import fewer_collections
from .sweep import Sweep
from .tables import outbox, processed


def create_app(settings: Settings) -> FastAPI:
    """Raises SettingsError (exit code 2 from the CLI) when the policy file is unreadable or invalid."""
    policy_file = settings_policy_file(settings)
    policy = policy_file.policy
    mql_outbox = Outbox(outbox)
    qualify = Qualify(
        policy,
        mql_outbox,
        settings.topic_mql,
        settings.topic_events,
        LeadCache(settings.qualifier_cache_mb * 2**20),
        topic_state=settings.topic_lead_state,
    )
    service = ConsumingService.build(
        database_url=settings.require_database_url(),
        bootstrap=settings.require_kafka_bootstrap(),
        config=ConsumerConfig(
            name="qualifier",
            topics=(settings.topic_events, settings.topic_decisions),
            group_id=settings.qualifier_group,
            dead_letter_topic=settings.topic_dead_letter,
            expected_types={settings.topic_events: EVENT_TYPES, settings.topic_decisions: DECISION_TYPES},
            max_records=settings.consumer_batch_max,
            data_validators={settings.topic_decisions: check_decision},
        ),
        processed=processed,
        handler=qualify,
        outbox=mql_outbox,
        poll_s=settings.outbox_poll_s,
        topic_partitions=settings.topic_partitions,
        security=client_security(settings),
        processed_keep=settings.processed_keep,
        prune_every_s=settings.prune_every_s,
        consumer_factory=partial(
            OwnedPartitions,
            qualify=qualify,
            coalesce_s=settings.qualifier_coalesce_ms / 1000,
            txn_max=settings.qualifier_txn_max,
            sweep=Sweep(qualify, settings.qualifier_sweep_s),
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with fewer_collections():
            async with service.running():
                yield

    app = build_app(
        service="qualifier",
        title="leadstate qualifier",
        description=DESCRIPTION,
        readiness=service.readiness,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.worker = service.worker
    app.state.policy = policy
    app.state.cache = qualify.cache
    mount_api(app, QualifierState(settings=settings, policy_file=policy_file, database=service.database))
    return app
