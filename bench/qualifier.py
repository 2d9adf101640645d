"""Qualifier: `lead.events` pre-loaded with demo envelopes (built by ingest's own `single_record`), then the
qualifier process started on a fresh database and timed until its consumer group has committed
every offset. Events/s, the ratio to the raw insert rate of the same run, peak RSS; run at two
sizes to check that the cost per event does not grow with the volume."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.common.kafka_security import PLAINTEXT, KafkaSecurity
from services.common.settings import Settings
from services.ingest.intake import single_record
from services.qualifier.demo import generate_audience

from . import baseline
from .infra import PARTITIONS, CpuMeter, Infra, Service, free_port
from .report import Check, Outcome, Skipped, table

START = datetime(2025, 1, 6, tzinfo=UTC)
EVENTS_PER_LEAD = 9.0  # the demo generator averages 9.17: a few more than needed, then cut
STALL_S = 60.0


def audience(events: int, seed: int) -> list[dict[str, Any]]:
    """`events` demo messages of about events/9 leads (the generator's mean; the tail cut in time)."""
    leads = int(events / EVENTS_PER_LEAD) + 1
    return generate_audience(leads, seed=seed, start=START)[:events]


def envelope_of(message: dict[str, Any], received_at: datetime) -> tuple[bytes, bytes]:
    """(key, value) exactly as ingest produces them for this message, through ingest's own code."""
    record = single_record(dict(message), message["type"], received_at)
    return record.key, record.value


async def preload(
    bootstrap: str, topic: str, messages: list[dict[str, Any]], security: KafkaSecurity = PLAINTEXT
) -> None:
    received_at = datetime.now(UTC)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        **security,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=1024 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    try:
        window = []
        for message in messages:
            key, value = envelope_of(message, received_at)
            window.append(await producer.send(topic, value, key=key))
            if len(window) >= 20_000:
                await asyncio.gather(*window)
                window.clear()
        await asyncio.gather(*window)
    finally:
        await producer.stop()


class Progress:
    """How many messages of `topic` the group has committed, read as the group's own members would
    (OffsetFetch); offsets start at 0 on a fresh topic. The admin client's variant fails on Tansu."""

    def __init__(self, bootstrap: str, group: str, topic: str, security: KafkaSecurity = PLAINTEXT) -> None:
        self.topic = topic
        self.probe = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **security
        )

    async def __aenter__(self) -> Progress:
        await self.probe.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.probe.stop()

    async def committed(self) -> int:
        offsets = [await self.probe.committed(TopicPartition(self.topic, p)) for p in range(PARTITIONS)]
        return sum(o or 0 for o in offsets)


async def watch(
    services: list[Service], progress: Progress, events: int, meter: CpuMeter
) -> tuple[float, int, float]:
    """Poll until every event is committed; (first progress at, committed then, finished at).
    The CPU meter runs from the first progress on, as the rate does."""
    done, first_at, first_done, last_change = 0, None, 0, time.perf_counter()
    while done < events:
        await asyncio.sleep(0.25)
        for service in services:
            if service.process is not None and service.process.poll() is not None:
                raise Skipped(f"qualifier exited with code {service.process.returncode}: {service.tail()}")
        now_done, now = await progress.committed(), time.perf_counter()
        if now_done > done:
            if first_at is None:
                first_at, first_done = now, now_done
                meter.start()
            done, last_change = now_done, now
        elif now - last_change > STALL_S:
            what = "consumed nothing" if done == 0 else f"stalled at {done} of {events}"
            raise Skipped(f"qualifier {what} for {STALL_S:.0f}s: {services[0].tail(3)}")
    assert first_at is not None
    return first_at, first_done, time.perf_counter()


def drain(infra: Infra, events: int, *, seed: int, profile: bool, members: int = 1) -> dict[str, Any]:
    topics = infra.fresh_topics(f"q{events}")
    messages = audience(events, seed)
    events = len(messages)
    leads = len({m["anonymousId"] for m in messages})  # every demo lead has exactly one
    started = time.perf_counter()
    asyncio.run(preload(infra.bootstrap, topics.events, messages, infra.security))
    del messages
    preload_s = time.perf_counter() - started
    env = infra.service_env(infra.fresh_database(), topics)

    async def measure() -> tuple[float, int, float]:
        group = env["LEADSTATE_QUALIFIER_GROUP"]
        async with Progress(infra.bootstrap, group, topics.events, infra.security) as progress:
            return await watch(services, progress, events, meter)

    launched = time.perf_counter()
    services = [
        infra.service("qualifier", {**env, "LEADSTATE_QUALIFIER_PORT": str(free_port())}, wait_ready=False)
        for _ in range(members)
    ]
    meter = CpuMeter(
        infra, {f"qualifier{i + 1}" if members > 1 else "qualifier": s for i, s in enumerate(services)}
    )
    if profile:
        services[0].start_profile()
    try:
        first_at, first_done, finished = asyncio.run(measure())
        cpu = meter.stop()
    finally:
        profile_lines = services[0].stop_profile() if profile else []
        for service in services:
            service.stop()
    # From the first commit on: start-up (imports, group join) is not throughput. A drain that fits one
    # batch has no "after the first commit": then only the rate with start-up is known.
    with_startup = events / (finished - launched)
    sustained = (events - first_done) / (finished - first_at) if first_done < events else with_startup
    return {
        "events": events,
        "leads": leads,
        "members": members,
        "preload_s": preload_s,
        "wall_s": finished - launched,
        "events_per_s": sustained,
        "events_per_s_with_startup": with_startup,
        "peak_rss_mb": max(s.peak_rss for s in services) / 2**20,
        "cpu_cores": cpu,
        "profile": profile_lines,
    }


def run(infra: Infra, *, quick: bool, profile: bool, insert_rate: float | None = None) -> Outcome:
    """20,000, 200,000 and 2,000,000 events (`--quick`: 5,000, 50,000, 200,000), and the middle size
    again with a second qualifier in the group."""
    small_n, large_n, huge_n = (5_000, 50_000, 200_000) if quick else (20_000, 200_000, 2_000_000)
    small = drain(infra, small_n, seed=31, profile=False)
    large = drain(infra, large_n, seed=32, profile=profile)
    huge = drain(infra, huge_n, seed=33, profile=False)
    pair = drain(infra, large_n, seed=34, profile=False, members=2)
    if insert_rate is None:  # qualifier run alone: measure the database now, in this run
        insert_rate, _ = baseline.best_inserts(infra, baseline.event_rows(30_000))
    ratio = large["events_per_s"] / insert_rate
    linear = large["events_per_s"] / small["events_per_s"]
    flat = huge["events_per_s"] / large["events_per_s"]
    runs = (small, large, huge, pair)
    print(
        table(
            [
                (
                    f"{r['events']:,} events, {r['leads']:,} leads"
                    + (f", {r['members']} members" if r["members"] > 1 else ""),
                    r["wall_s"],
                    r["events_per_s"],
                    r["events_per_s_with_startup"],
                    r["peak_rss_mb"],
                )
                for r in runs
            ],
            ("qualifier drain", "wall s", "events/s", "incl. start-up", "peak RSS MB"),
        )
    )
    for r in (large, huge, pair):
        print(
            f"cores busy while draining {r['events']:,} ({r['members']} member(s)): "
            + ", ".join(f"{n} {v}" for n, v in r["cpu_cores"].items())
        )
    profile_lines = large.pop("profile")
    for r in (small, huge, pair):
        r.pop("profile")
    budget_mb = Settings.model_fields["qualifier_cache_mb"].default
    return Outcome(
        "qualifier",
        metrics={
            "small": small,
            "large": large,
            "huge": huge,
            "pair": pair,
            "insert_rows_per_s": insert_rate,
        },
        ratios={
            "qualifier/insert": ratio,
            f"qualifier {huge_n // 1000}k/{large_n // 1000}k": flat,
            f"qualifier {large_n // 1000}k/{small_n // 1000}k": linear,
            "qualifier 2 members/1": pair["events_per_s"] / large["events_per_s"],
        },
        checks=[
            Check("qualifier events/s (sustained)", large["events_per_s"], 20_000),
            Check("qualifier events/s / raw insert rows/s", ratio, 0.35),
            Check(f"events/s at {huge_n // 1000}k / at {large_n // 1000}k", flat, 0.8),
            Check(
                f"qualifier peak RSS MB, {huge['leads']:,} leads",
                huge["peak_rss_mb"],
                budget_mb + 150,  # the cache's budget plus the process without it
                higher_is_better=False,
            ),
        ],
        profiles={"qualifier": profile_lines},
    )
