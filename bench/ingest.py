"""Ingest: /v1/batch requests of 100 demo events each from several keep-alive clients, as fast as
the service answers (closed loop), against the ingest process. Events/s of 200 answers, request
latency, and the ratio to the raw produce rate of the same run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson

from services.qualifier.demo import generate_audience

from . import baseline
from .infra import WRITE_KEY, CpuMeter, Infra
from .loadgen import LoadResult, basic_auth, closed_loop, encode_request
from .report import Check, Outcome, Skipped, percentile, table

BATCH = 100
CLIENTS = 8


def batch_requests(url: str, messages: list[dict[str, Any]], size: int = BATCH) -> list[bytes]:
    headers = {"Authorization": basic_auth(WRITE_KEY), "Content-Type": "application/json"}
    return [
        encode_request("POST", url, orjson.dumps({"batch": messages[i : i + size]}), headers)
        for i in range(0, len(messages) - size + 1, size)
    ]


def summarize(result: LoadResult, batch: int) -> dict[str, Any]:
    ok = result.statuses.get(200, 0)
    return {
        "events_per_s": ok * batch / result.elapsed_s if result.elapsed_s else 0.0,
        "requests": sum(result.statuses.values()),
        "ok": ok,
        "statuses": {str(k): v for k, v in result.statuses.items()},
        "errors": len(result.errors),
        "p50_ms": 1000 * (percentile(result.latencies_s, 50) or 0),
        "p99_ms": 1000 * (percentile(result.latencies_s, 99) or 0),
    }


def run(infra: Infra, *, quick: bool, profile: bool, produce_rate: float | None = None) -> Outcome:
    duration = 8.0 if quick else 20.0
    topics = infra.fresh_topics("ingest")
    env = infra.service_env(infra.fresh_database(), topics)
    service = infra.service("ingest", env)
    url = f"{service.base_url}/v1/batch"
    messages = generate_audience(2300, seed=21, start=datetime(2025, 1, 6, tzinfo=UTC))
    requests = batch_requests(url, messages)
    if not requests:
        raise Skipped("the demo generator gave too few messages")
    warm = asyncio.run(closed_loop(url, requests[:20], clients=2, duration_s=1.0))
    if warm.statuses.get(200, 0) == 0:
        raise Skipped(f"/v1/batch answered no 200 (statuses {warm.statuses}, errors {warm.errors[:2]})")
    if profile:
        service.start_profile()
    meter = CpuMeter(infra, {"ingest": service}).start()
    result = asyncio.run(closed_loop(url, requests, clients=CLIENTS, duration_s=duration))
    cpu = meter.stop()
    profile_lines = service.stop_profile() if profile else []
    figures = summarize(result, BATCH)
    figures["peak_rss_mb"] = service.peak_rss / 2**20
    figures["cpu_cores"] = cpu
    service.stop()
    if produce_rate is None:  # ingest run alone: measure the broker now, in this run
        produce_rate = baseline.best_produce(infra, 30_000)
    ratio = figures["events_per_s"] / produce_rate
    print(
        table(
            [
                (
                    f"/v1/batch x{BATCH}, {CLIENTS} clients, {duration:.0f}s",
                    figures["requests"],
                    figures["events_per_s"],
                    figures["p50_ms"],
                    figures["p99_ms"],
                    figures["peak_rss_mb"],
                    ratio,
                )
            ],
            ("ingest", "requests", "events/s", "p50 ms", "p99 ms", "RSS MB", "x produce"),
        )
    )
    print("cores busy (1.0 = one core): " + ", ".join(f"{n} {v}" for n, v in cpu.items()))
    if set(result.statuses) - {200} or result.errors:
        print(f"  non-200 answers: {result.statuses}; client errors: {result.errors[:3]}")
    return Outcome(
        "ingest",
        metrics={
            **figures,
            "produce_msgs_per_s": produce_rate,
            "clients": CLIENTS,
            "batch": BATCH,
            "duration_s": duration,
        },
        ratios={"ingest/produce": ratio},
        checks=[Check("ingest events/s / raw produce", ratio, 0.5)],
        profiles={"ingest": profile_lines},
    )
