"""The dispatcher's sending side: claims due heads (the oldest pending delivery per endpoint and lead),
sends them concurrently, signs each attempt anew, and writes every outcome. A delivery in flight holds a
lease; if the process dies mid-attempt the lease runs out and the delivery is sent again (at least once:
the receiver de-duplicates on webhook-id)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from services.common.consumer import is_transient
from services.common.db import Database

from . import deliveries, signing, transport
from .deliveries import Claimed, Retries

log = logging.getLogger(__name__)
LINGER_S = 0.01


@dataclass(kw_only=True)
class Sender:
    database: Database
    retries: Retries
    allow_private: bool
    timeout_s: float
    concurrency: int
    poll_s: float
    healthy: bool = True
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _in_flight: set[asyncio.Task[None]] = field(default_factory=set)
    _stopping: bool = False
    _client: httpx.AsyncClient | None = None

    @property
    def lease(self) -> timedelta:
        # longer than any attempt can take, so a live attempt is never sent twice
        return timedelta(seconds=self.timeout_s * 2 + 5)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        self._client = transport.new_client()
        backoff = 0.2
        try:
            while not self._stopping:
                self._wake.clear()  # before the claim: a wake during it means "look again"
                try:
                    free = self.concurrency - len(self._in_flight)
                    claimed = await self._claim(free) if free > 0 else []
                    self.healthy, backoff = True, 0.2
                except Exception as exc:
                    self.healthy = False  # a bug ends the sender: readiness says so
                    if not is_transient(exc):
                        raise
                    log.warning("webhook claim failed; retrying", extra={"error": str(exc)[:200]})
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                for item in claimed:
                    task = asyncio.create_task(self._deliver(item), name=f"webhook-{item.seq}")
                    self._in_flight.add(task)
                    task.add_done_callback(self._finished)
                if len(claimed) == free and free > 0:
                    continue  # more may be due right now
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                except TimeoutError:
                    pass
                await self._linger()
        finally:
            if not self._stopping:  # ended by a bug: attempts in flight still finish in stop()
                log.error("webhook sender stopped unexpectedly")

    async def _linger(self) -> None:
        """While most slots are busy, let a few more attempts finish before the next claim: one claim
        (an index walk and a lease update) per finished attempt would cost more than the attempts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER_S
        while (
            self._in_flight
            and self.concurrency - len(self._in_flight) < max(1, self.concurrency // 4)
            and loop.time() < deadline
            and not self._stopping
        ):
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), deadline - loop.time())
            except TimeoutError:
                return

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()  # a slot is free, and the lead's next delivery may now be the head

    async def _claim(self, limit: int) -> list[Claimed]:
        async with self.database.engine.begin() as conn:
            return await deliveries.claim(conn, limit=limit, lease=self.lease, now=datetime.now(UTC))

    async def _deliver(self, item: Claimed) -> None:
        assert self._client is not None
        timestamp = int(datetime.now(UTC).timestamp())
        headers = signing.headers(list(item.secrets), item.event_id, timestamp, item.payload)
        attempt = await transport.post(
            self._client,
            item.url,
            item.payload,
            headers,
            allow_private=self.allow_private,
            timeout_s=self.timeout_s,
        )
        delay = 0.2
        while True:  # the outcome must be written: until it is, the lease keeps others off it
            try:
                async with self.database.engine.begin() as conn:
                    status = await deliveries.record(
                        conn, item, attempt, now=datetime.now(UTC), retries=self.retries
                    )
                break
            except Exception as exc:
                if not is_transient(exc) or self._stopping:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        if status != "delivered":
            # the URL may hold a token; the endpoint id and the error say enough
            log.info(
                "webhook attempt failed",
                extra={
                    "endpoint_id": item.endpoint_id,
                    "event_id": item.event_id,
                    "attempt": item.attempts + 1,
                    "status": status,
                    "error": attempt.error,
                },
            )

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop claiming; let attempts in flight finish (a cut one is sent again when its lease ends)."""
        self._stopping = True
        self._wake.set()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=timeout_s)
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()  # only now: an attempt in flight still used it
