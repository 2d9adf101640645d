"""Producing a request's envelopes and waiting until the broker acknowledged every one (acks=all).

All records are handed to the producer first and their acknowledgements awaited together, so a batch
costs one broker round trip per partition, not one per message. A request is answered 200 only when
every acknowledgement arrived within the produce timeout; otherwise 503, and the client retries the
whole request. Records that did reach the broker before the 503 are then produced twice, with the
same envelope id: downstream consumers de-duplicate by that id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.common.broker import BrokerLink
from services.common.kafka import TopicsMissing
from services.common.problems import Problem

from .envelopes import Record

log = logging.getLogger(__name__)
RETRY_AFTER_S = "5"


async def deliver(broker: BrokerLink, topic: str, records: Sequence[Record], *, timeout_s: float) -> None:
    """Return once the broker stored every record; raise a 503 Problem otherwise."""
    if not broker.connected.is_set():
        raise unavailable("the broker is not connected yet")
    deadline = asyncio.get_running_loop().time() + timeout_s  # the check and the produce share it
    try:
        async with broker.guarded_write((topic,), timeout_s=timeout_s):
            await _produce(broker.producer, topic, records, deadline=deadline)
    except TopicsMissing as exc:
        raise unavailable(f"the broker may have lost the messages ({exc})") from None
    except (KafkaError, TimeoutError, OSError) as exc:
        raise unavailable(f"the broker did not take the messages ({type(exc).__name__})") from None


async def _produce(
    producer: AIOKafkaProducer, topic: str, records: Sequence[Record], *, deadline: float
) -> None:
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[object]] = []
    try:
        # send() only waits when it needs metadata or buffer space; bound that wait too.
        await asyncio.wait_for(
            _hand_over(producer, topic, records, futures), max(0.0, deadline - loop.time())
        )
    except (KafkaError, TimeoutError, OSError) as exc:
        for future in futures:
            future.add_done_callback(_retrieve)
        raise unavailable(f"the broker did not take the messages ({type(exc).__name__})") from None
    remaining = max(0.0, deadline - loop.time())
    done, pending = await asyncio.wait(futures, timeout=remaining) if futures else (set(), set())
    for future in pending:
        future.add_done_callback(_retrieve)  # settled later; its outcome is already answered as 503
    failed = [f for f in done if f.cancelled() or f.exception() is not None]
    if pending or failed:
        reason = "timeout" if not failed or failed[0].cancelled() else type(failed[0].exception()).__name__
        raise unavailable(
            f"the broker did not acknowledge {len(pending) + len(failed)} of {len(records)} "
            f"messages ({reason})"
        )


async def _hand_over(
    producer: AIOKafkaProducer, topic: str, records: Sequence[Record], futures: list[asyncio.Future[object]]
) -> None:
    send, append = producer.send, futures.append
    for record in records:
        append(await send(topic, value=record.value, key=record.key))


def unavailable(reason: str) -> Problem:
    log.warning("answering 503: %s", reason)
    return Problem(
        503,
        f"{reason}; nothing is acknowledged: retry the request (its messageIds make that safe)",
        headers={"Retry-After": RETRY_AFTER_S},
    )


def _retrieve(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()
