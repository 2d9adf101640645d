"""The broker's own latency at the e2e load: one hop, produce to a consumer group member, nothing else.

Same shape as the e2e run: every 10 ms a group of 10 messages of ~1 KB with lead-like keys, sent with
ingest's producer settings and read with the services' consumer settings, committing after each batch
as the qualifier does. The e2e path to `lead.mql` crosses the broker twice (lead.events, lead.mql), the
inbox three times; this says how much of its latency the broker alone accounts for, and whether that
share grows over the run (the embedded broker's fetch lists every stored batch of a partition, so it
slows down as its memory fills).
"""

from __future__ import annotations

import asyncio
import time
import uuid

from services.common.kafka import ensure_topics, make_consumer, make_producer
from services.common.kafka_security import PLAINTEXT, KafkaSecurity

from .infra import CpuMeter, Infra
from .report import Outcome, by_window, fmt, percentile_ms, table

GROUP = 10
PAD = b"x" * 1000


async def _measure(
    bootstrap: str, duration_s: float, rate: float, security: KafkaSecurity = PLAINTEXT
) -> list[tuple[float, float]]:
    topic = f"bench-hop-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic], partitions=6, security=security)
    producer = make_producer(bootstrap, security=security)
    consumer = make_consumer(
        bootstrap, [topic], group_id=f"hop-{topic}", client_id="bench-hop", security=security
    )
    await producer.start()
    await consumer.start()
    timed: list[tuple[float, float]] = []  # (sent, latency)
    stop, assigned, drained = asyncio.Event(), asyncio.Event(), asyncio.Event()
    target = int(duration_s * rate) + 1  # how many to read before `drained`: what was sent, in the end

    async def consume() -> None:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            if consumer.assignment():
                assigned.set()
            now = time.time()
            for records in batch.values():
                for r in records:
                    sent = float(r.value[:20])
                    timed.append((sent, now - sent))
            if batch:
                await consumer.commit({tp: rs[-1].offset + 1 for tp, rs in batch.items()})
            if len(timed) >= target:
                drained.set()

    reader = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(assigned.wait(), 60)
        sent, started = 0, time.monotonic()
        while time.monotonic() - started < duration_s:
            stamp = f"{time.time():<20.6f}".encode()
            acks = [
                await producer.send(topic, stamp + PAD, key=f"lead-{(sent + i) % 1000}".encode())
                for i in range(GROUP)
            ]
            sent += GROUP
            asyncio.gather(*acks).add_done_callback(lambda f: f.exception())
            await asyncio.sleep(max(0.0, sent / rate - (time.monotonic() - started)))  # paced, open loop
        target = sent
        await asyncio.wait_for(drained.wait(), 30)
    finally:
        stop.set()
        await reader
        await consumer.stop()
        await producer.stop()
    return sorted(timed)


def measure(infra: Infra, *, duration_s: float, rate: float) -> dict[str, object]:
    meter = CpuMeter(infra, {}).start()
    timed = asyncio.run(_measure(infra.bootstrap, duration_s, rate, infra.security))
    cores = meter.stop().get("broker")
    latencies = [latency for _, latency in timed]
    return {
        "messages": len(timed),
        "p50": percentile_ms(latencies, 50),
        "p95": percentile_ms(latencies, 95),
        "p99": percentile_ms(latencies, 99),
        "p99_by_quarter": by_window(timed, p=99),
        "broker_cores": cores,
    }


def run(infra: Infra, *, duration_s: float, rate: float) -> Outcome:
    """`python -m bench hop`: the one-hop figures alone (the e2e benchmark measures them first too)."""
    hop = measure(infra, duration_s=duration_s, rate=rate)
    quarters = " / ".join(fmt(q) for q in hop["p99_by_quarter"])  # type: ignore[attr-defined]
    print(
        table(
            [
                [
                    f"{rate:g}/s for {duration_s:g} s",
                    hop["messages"],
                    hop["p50"],
                    hop["p99"],
                    hop["broker_cores"],
                ]
            ],
            ["one hop", "messages", "p50 ms", "p99 ms", "broker cores"],
        )
    )
    print(f"p99 by quarter: {quarters} ms")
    return Outcome("hop", metrics=hop)
