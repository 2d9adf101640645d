"""How events are processed: the qualifier's cache, transactions and sweep, the policy file, ingest's
produce deadline and event-time bounds, the outbox relay, how long de-duplication rows are kept, and the
limits of a policy-lab job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import AwareDatetime, Field
from pydantic_settings import BaseSettings


class ProcessingSettings(BaseSettings):
    # The qualifier's in-memory lead state (services/qualifier/cache.py) and its coalesced transactions.
    qualifier_cache_mb: int = Field(512, ge=1, description="budget of the leads and accounts a member caches")
    qualifier_coalesce_ms: int = Field(200, ge=0, le=10_000, description="longest a transaction gathers")
    qualifier_txn_max: int = Field(5_000, ge=1, description="most records one qualifier transaction holds")
    qualifier_sweep_s: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="how often lead.updated looks for views due with no new event (0: never)",
    )

    policy_path: Path = Path("policies/default.yaml")
    produce_timeout_s: float = Field(5.0, gt=0)
    # Event-time bounds (ingest): see the README's ingest section.
    max_clock_skew_s: float = Field(3 * 86400.0, ge=0, description="larger |receivedAt − sentAt| is ignored")
    max_future_s: float = Field(86400.0, ge=0, description="a later event time is replaced by receivedAt")
    min_event_time: AwareDatetime = Field(datetime(1970, 1, 1, tzinfo=UTC), description="earlier: 400")
    outbox_poll_s: float = Field(1.0, gt=0)
    # Rows kept only so a retry changes nothing (services/common/retention.py): the envelope ids a
    # consumer applied must outlive any redelivery (the topics' retention), an Idempotency-Key's answer
    # any client's retries.
    processed_retention_days: float = Field(14.0, gt=0, description="processed envelope ids are kept")
    idempotency_retention_days: float = Field(30.0, gt=0, description="Idempotency-Key answers are kept")
    prune_every_s: float = Field(3600.0, gt=0, description="how often expired rows are deleted")

    # Each policy simulation of the HTTP lab runs in a worker process ended at the first of these.
    simulation_timeout_s: float = Field(600.0, gt=0, description="wall-clock limit of one simulation")
    simulation_memory_mb: int = Field(1024, ge=16, description="address space of its worker process")
    simulation_cpu_s: float = Field(600.0, ge=1, description="CPU seconds of its worker process")

    @property
    def processed_keep(self) -> timedelta:
        return timedelta(days=self.processed_retention_days)

    @property
    def idempotency_keep(self) -> timedelta:
        return timedelta(days=self.idempotency_retention_days)
