"""The webhook dispatcher inside the handoff process: a consumer group of its own on lead.mql,
lead.decisions and lead.state (fan-out into delivery rows) and the sender. Built from the settings in
one place."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.common.broker import BrokerLink
from services.common.consumer import ConsumerConfig
from services.common.db import Database
from services.common.runtime import Worker
from services.common.settings import Settings

from ..policy import HandoffPolicy
from ..tables import processed
from .deliveries import Retries
from .dispatcher import Sender
from .fanout import fan_out_handler
from .reminders import remind_periodically
from .slack import SlackCard

CONSUMER_NAME = "webhooks"  # its rows in handoff.processed_events


def retries_from(settings: Settings) -> Retries:
    return Retries(
        base_s=settings.webhook_backoff_base_s,
        max_s=settings.webhook_backoff_max_s,
        window=timedelta(seconds=settings.webhook_retry_window_s),
        disable_after=timedelta(seconds=settings.webhook_disable_after_s),
    )


def card_from(settings: Settings, policy: HandoffPolicy) -> SlackCard:
    """Chat alerts in the deployment's language and time zone (a channel has no viewer to ask)."""
    console = settings.console_url or f"http://{settings.host}:{settings.handoff_port}"
    return SlackCard(
        clock=policy.clock,
        console_url=console,
        language=settings.default_language,
        zone=ZoneInfo(settings.timezone),
        topics=policy.topics,
    )


@dataclass(kw_only=True)
class WebhookDispatcher:
    worker: Worker
    sender: Sender
    reminders: Callable[[], Coroutine[Any, Any, None]]
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    @classmethod
    def build(
        cls, settings: Settings, *, database: Database, broker: BrokerLink, policy: HandoffPolicy
    ) -> WebhookDispatcher:
        sender = Sender(
            database=database,
            retries=retries_from(settings),
            allow_private=settings.webhook_allow_private,
            timeout_s=settings.webhook_timeout_s,
            concurrency=settings.webhook_concurrency,
            poll_s=settings.webhook_poll_s,
        )
        worker = Worker(
            config=ConsumerConfig(
                name=CONSUMER_NAME,
                topics=(settings.topic_mql, settings.topic_decisions, settings.topic_lead_state),
                group_id=settings.webhook_consumer_group,
                dead_letter_topic=settings.topic_dead_letter,
                expected_types={},  # any type: those no webhook carries are skipped, not dead-lettered
                max_records=settings.consumer_batch_max,
                dead_letter_invalid=False,  # the handoff (lead.mql), qualifier (lead.decisions) do
            ),
            bootstrap=settings.require_kafka_bootstrap(),
            database=database,
            broker=broker,
            processed=processed,
            handler=fan_out_handler(
                window=timedelta(seconds=settings.webhook_retry_window_s),
                card=card_from(settings, policy),
            ),
            after_commit=sender.wake,
            processed_keep=settings.processed_keep,
            prune_every_s=settings.prune_every_s,
        )
        reminders = functools.partial(
            remind_periodically,
            database,
            card=card_from(settings, policy),
            window=timedelta(seconds=settings.webhook_retry_window_s),
            every_s=settings.webhook_sla_check_s,
            wake=sender.wake,
        )
        return cls(worker=worker, sender=sender, reminders=reminders)

    async def check(self) -> None:
        await self.worker.check()
        if not self.sender.healthy:
            raise ConnectionError("webhook sender cannot reach the database")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self.worker.start()
        self._tasks = [
            asyncio.create_task(self.sender.run(), name="webhook-sender"),
            asyncio.create_task(self.reminders(), name="webhook-sla-reminders"),
        ]
        try:
            yield
        finally:
            await self.worker.stop()
            await self.sender.stop()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
