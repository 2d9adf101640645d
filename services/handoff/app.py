"""Handoff wiring: the sales API, the `lead.mql` projection and the decisions outbox relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from services.common.app import build_app
from services.common.body_limit_middleware import BodyLimit
from services.common.consumer import ConsumerConfig
from services.common.kafka_security import client_security
from services.common.lab_api import BODY_LIMITS as SIMULATION_BODY_LIMITS
from services.common.outbox import Outbox
from services.common.policy_file import settings_policy_file
from services.common.proxy import ForwardedHeaders, trusted_networks
from services.common.retention import Retention
from services.common.runtime import ConsumingService
from services.common.settings import Settings
from services.common.unavailable import install_unavailable_handler

from .api import account_mqa, audit, decisions, inbox, reports, simulations, webhooks
from .console import BODY_LIMITS as CONSOLE_BODY_LIMITS
from .console import mount_console
from .cursor import codec_for_keys
from .decisions import Decider
from .key_usage import KeyUsage
from .mqa import validate_qualified
from .policy import handoff_policy
from .projection import MQL_TYPES, project
from .qualifier_client import QualifierClient
from .state import HandoffState
from .tables import audit as audit_table
from .tables import console_sessions, idempotency_keys, login_failures, outbox, processed
from .webhooks.service import WebhookDispatcher

MAX_BODY_BYTES = 16 * 1024  # a decision is a few hundred bytes; a note at most 4000 characters

DESCRIPTION = """\
The sales API: explained MQLs in, decisions with reasons out.

Authenticate with `Authorization: Bearer <key>`; keys and their scopes (`mql:read`, `decisions:write`,
`reports:read`, `webhooks:admin`, `audit:read`) come from `LEADSTATE_API_KEYS` (each key plain, or
`sha256:<hex digest>`). Every error is `application/problem+json` with an `errors` list naming each bad
field.
"""


def create_app(settings: Settings) -> FastAPI:
    # The policy file is read once per process: the reason codes and SLA come from it, the console
    # shows its rules; a bad one refuses to start.
    policy_file = settings_policy_file(settings)
    policy = handoff_policy(policy_file.policy, timezone=settings.timezone)
    decisions_outbox = Outbox(outbox)
    service = ConsumingService.build(
        database_url=settings.require_database_url(),
        bootstrap=settings.require_kafka_bootstrap(),
        config=ConsumerConfig(
            name="handoff",
            topics=(settings.topic_mql,),
            group_id=settings.handoff_group,
            dead_letter_topic=settings.topic_dead_letter,
            expected_types={settings.topic_mql: MQL_TYPES},
            max_records=settings.consumer_batch_max,
            data_validators={settings.topic_mql: validate_qualified},
        ),
        processed=processed,
        handler=project,
        outbox=decisions_outbox,
        poll_s=settings.outbox_poll_s,
        topic_partitions=settings.topic_partitions,
        security=client_security(settings),
        processed_keep=settings.processed_keep,
        prune_also=(
            Retention(idempotency_keys, "created_at", settings.idempotency_keep),
            Retention(audit_table, "at", settings.audit_keep),
            # Kept only as long as they can still count or be resumed
            Retention(login_failures, "at", timedelta(seconds=settings.login_window_s)),
            Retention(console_sessions, "created_at", timedelta(seconds=settings.session_absolute_s)),
        ),
        prune_every_s=settings.prune_every_s,
    )

    # Webhooks: a consumer group of its own on lead.mql and lead.decisions, and the sender
    dispatcher = WebhookDispatcher.build(
        settings, database=service.database, broker=service.broker, policy=policy
    )
    service.readiness.add("webhooks", dispatcher.check)

    qualifier = QualifierClient(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with service.running(), dispatcher.running():
                yield
        finally:
            await qualifier.close()

    app = build_app(
        service="handoff",
        title="leadstate handoff",
        description=DESCRIPTION,
        readiness=service.readiness,
        lifespan=lifespan,
    )
    larger = {**SIMULATION_BODY_LIMITS, **CONSOLE_BODY_LIMITS}
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES, larger=larger)
    if settings.trusted_proxies:  # outermost: every address and URL below is the public one
        app.add_middleware(ForwardedHeaders, trusted=trusted_networks(settings.trusted_proxies))
    install_unavailable_handler(app)

    def wake_relay() -> None:  # the relay exists once the service runs
        if service.worker.relay is not None:
            service.worker.relay.wake()

    decider = Decider(
        sessions=service.database.sessions,
        outbox=decisions_outbox,
        topic=settings.topic_decisions,
        policy=policy,
        wake_relay=wake_relay,
    )
    app.state.handoff = HandoffState(
        settings=settings,
        policy_file=policy_file,
        policy=policy,
        database=service.database,
        worker=service.worker,
        decider=decider,
        webhooks=dispatcher,
        cursors=codec_for_keys(settings.api_keys),
        key_usage=KeyUsage(service.database.sessions),
        qualifier=qualifier,
    )
    for module in (inbox, decisions, account_mqa, reports, simulations, webhooks, audit):
        app.include_router(module.router)
    mount_console(app, settings, policy_file.policy)  # the web console at /console
    return app
