"""End to end: a steady rate of demo events through ingest (paced /v1/batch requests), the qualifier
and the handoff, all three as processes. Latency from the request that carried a lead's qualifying
event to (a) its MQL event on `lead.mql` and (b) its item in the handoff inbox (GET /v1/mqls), and
the peak RSS of each service."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer

from services.common.kafka_security import PLAINTEXT, KafkaSecurity
from services.qualifier.demo import generate_audience
from services.qualifier.mql import MQL_TYPE

from . import broker_hop
from .infra import API_KEY, CpuMeter, Infra, Service
from .ingest import batch_requests
from .loadgen import LoadResult, paced
from .qualifier import Progress, preload
from .report import Check, Outcome, Skipped, by_window, fmt, percentile_ms, table

# the qualifier's batch phases (handlers.py, partitions.py)
PHASES = ("offsets", "dedupe", "read", "load", "fold", "save", "accounts", "changelog", "commit")
BATCH = 10  # a website's server-side SDK flushes small batches often
CLIENTS = 16
SETTLE_S = 8.0  # after the last request: how long without a new MQL ends the wait
SETTLE_MAX_S = 120.0  # and the longest wait, whatever is still missing
INBOX_POLL_S = 0.1


@dataclass
class Ledger:
    """When each message was sent, by every id of its lead, to match MQLs back to requests."""

    sent: dict[str, list[tuple[datetime, float]]] = field(default_factory=lambda: defaultdict(list))
    mql_at: dict[str, float] = field(default_factory=dict)  # mql_id -> wall time seen on lead.mql
    inbox_at: dict[str, float] = field(default_factory=dict)  # mql_id -> wall time seen in the inbox
    mqls: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, message: dict[str, Any], wall: float) -> None:
        stamp = datetime.fromisoformat(message["timestamp"])
        for key in (message.get("userId"), message.get("anonymousId")):
            if key:
                self.sent[key].append((stamp, wall))

    def sent_at(self, mql: dict[str, Any], seen: float) -> float | None:
        """The send time of the qualifying event: the lead's message stamped `qualified_at` (the
        policy qualifies in event time), else the lead's last message sent before the MQL was seen."""
        ids = {mql.get("lead_id")}
        identities = mql.get("identities") or {}
        ids.add(identities.get("user_id"))
        ids.update(identities.get("anonymous_ids") or [])
        sends = [s for i in ids if i for s in self.sent.get(i, ())]
        if not sends:
            return None
        try:
            qualified = datetime.fromisoformat(mql["qualified_at"])
        except (KeyError, TypeError, ValueError):
            qualified = None
        exact = [wall for stamp, wall in sends if stamp == qualified]
        if exact:
            return min(exact)
        before = [wall for _, wall in sends if wall <= seen]
        return max(before) if before else None

    def timed(self, seen: dict[str, float]) -> list[tuple[float, float]]:
        """(sent at, latency) of each MQL that could be matched to its request."""
        out = []
        for mql_id, at in seen.items():
            sent = self.sent_at(self.mqls.get(mql_id, {}), at)
            if sent is not None:
                out.append((sent, max(0.0, at - sent)))
        return sorted(out)

    def latencies(self, seen: dict[str, float]) -> list[float]:
        return [latency for _, latency in self.timed(seen)]


async def watch_mqls(
    bootstrap: str, topic: str, ledger: Ledger, stop: asyncio.Event, security: KafkaSecurity = PLAINTEXT
) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
        **security,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=50)
            now = time.time()
            for record in (r for rs in batch.values() for r in rs):
                envelope = orjson.loads(record.value)
                if envelope.get("type") != MQL_TYPE:  # MQAs share the topic; the inbox lists MQLs
                    continue
                data = envelope.get("data", {})
                mql_id = data.get("mql_id") or data.get("lead_id")
                ledger.mqls.setdefault(mql_id, data)
                ledger.mql_at.setdefault(mql_id, now)
    finally:
        await consumer.stop()


async def watch_inbox(base_url: str, ledger: Ledger, stop: asyncio.Event, errors: list[str]) -> None:
    """Newest first, paging back only until a page holds nothing new."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
        while not stop.is_set():
            cursor = None
            while True:
                # a small first page: polling must not be what loads the handoff
                params: dict[str, Any] = {"order": "newest", "limit": 200 if cursor else 20}
                if cursor:
                    params["cursor"] = cursor
                answer = await client.get("/v1/mqls", params=params)
                if answer.status_code != 200:
                    errors.append(f"GET /v1/mqls answered {answer.status_code}: {answer.text[:200]}")
                    break
                page = answer.json()
                now, new = time.time(), 0
                for item in page.get("items", []):
                    key = item.get("mql_id") or item.get("lead_id")
                    if key not in ledger.inbox_at:
                        ledger.inbox_at[key], new = now, new + 1
                        ledger.mqls.setdefault(key, item)
                cursor = page.get("next_cursor")
                if not new or not cursor:
                    break
            await asyncio.sleep(INBOX_POLL_S)


async def drive(
    infra: Infra,
    ingest: Service,
    handoff: Service,
    topic_mql: str,
    messages: list[dict[str, Any]],
    rate: float,
) -> tuple[Ledger, LoadResult, list[str]]:
    ledger, stop = Ledger(), asyncio.Event()
    errors: list[str] = []
    url = f"{ingest.base_url}/v1/batch"
    requests = batch_requests(url, messages, BATCH)

    def on_sent(i: int, wall: float) -> None:
        for message in messages[i * BATCH : (i + 1) * BATCH]:
            ledger.record(message, wall)

    watchers = [
        asyncio.create_task(watch_mqls(infra.bootstrap, topic_mql, ledger, stop, infra.security)),
        asyncio.create_task(watch_inbox(handoff.base_url, ledger, stop, errors)),
    ]
    load = await paced(url, requests, per_s=rate / BATCH, clients=CLIENTS, on_sent=on_sent)
    last, count = time.monotonic(), len(ledger.inbox_at)
    give_up = last + SETTLE_MAX_S  # an MQL that never reaches the inbox must not hang the run
    while time.monotonic() - last < SETTLE_S and time.monotonic() < give_up:  # let the pipeline drain
        await asyncio.sleep(0.5)
        if len(ledger.inbox_at) != count or len(ledger.mql_at) > len(ledger.inbox_at):
            last, count = time.monotonic(), len(ledger.inbox_at)
    if missing := len(set(ledger.mql_at) - set(ledger.inbox_at)):
        errors.append(f"{missing} MQLs on the topic never listed in the inbox within {SETTLE_MAX_S:g}s")
    stop.set()
    await asyncio.gather(*watchers, return_exceptions=True)
    return ledger, load, errors


def consumer_totals(service: Service, consumer: str) -> dict[str, float]:
    """Batches, their seconds and the envelopes consumed so far, from the service's /metrics."""
    import re
    import urllib.request

    with urllib.request.urlopen(f"{service.base_url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    totals = {"batches": 0.0, "seconds": 0.0, "consumed": 0.0}
    patterns = {
        "batches": rf'^leadstate_consumer_batch_seconds_count{{consumer="{consumer}"}} (\S+)',
        "seconds": rf'^leadstate_consumer_batch_seconds_sum{{consumer="{consumer}"}} (\S+)',
        "consumed": rf'^leadstate_consumed_total{{consumer="{consumer}",[^}}]*}} (\S+)',
        "sweeps": r"^leadstate_qualifier_sweep_seconds_count (\S+)",
        "sweep_seconds": r"^leadstate_qualifier_sweep_seconds_sum (\S+)",
    }
    for phase in PHASES:
        patterns[phase] = rf'^leadstate_qualifier_phase_seconds_sum{{phase="{phase}"}} (\S+)'
    for name, pattern in patterns.items():
        totals[name] = sum(float(v) for v in re.findall(pattern, text, re.M))
    return totals


class QuarterSampler(threading.Thread):
    """The qualifier's batch totals at each quarter of the run: which phase grows as history does."""

    def __init__(self, service: Service, period_s: float) -> None:
        super().__init__(daemon=True)
        self.service, self.period_s = service, period_s
        self.samples: list[tuple[dict[str, float], float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        self.samples.append((consumer_totals(self.service, "qualifier"), time.perf_counter()))
        while not self.done.wait(self.period_s):
            self.samples.append((consumer_totals(self.service, "qualifier"), time.perf_counter()))

    def quarters(self) -> list[dict[str, float]]:
        self.done.set()
        self.join(timeout=10)
        return [batch_figures(a, b, tb - ta) for (a, ta), (b, tb) in pairwise(self.samples[:5])]


def batch_figures(before: dict[str, float], after: dict[str, float], wall_s: float) -> dict[str, float]:
    batches = after["batches"] - before["batches"]
    seconds = after["seconds"] - before["seconds"]
    per_batch = 1000 / batches if batches else 0.0
    phases = {p: per_batch * (after.get(p, 0.0) - before.get(p, 0.0)) for p in PHASES}
    return {
        "batches": batches,
        **{f"mean_{p}_ms": ms for p, ms in phases.items()},
        "mean_other_ms": (1000 * seconds / batches if batches else 0.0) - sum(phases.values()),
        "mean_batch_events": (after["consumed"] - before["consumed"]) / batches if batches else 0.0,
        "mean_batch_ms": 1000 * seconds / batches if batches else 0.0,
        "share_of_time_in_batches": seconds / wall_s if wall_s else 0.0,
        "sweeps": (sweeps := after.get("sweeps", 0.0) - before.get("sweeps", 0.0)),
        "mean_sweep_ms": 1000 * (after.get("sweep_seconds", 0.0) - before.get("sweep_seconds", 0.0)) / sweeps
        if sweeps
        else 0.0,
    }


async def warm_up(infra: Infra, topic: str, group: str) -> None:
    """One event straight onto the topic, and wait until the qualifier committed it: the group is
    joined and the first batch paid for before the clock starts."""
    start = datetime.now(UTC) - timedelta(days=1)
    probe = generate_audience(1, seed=99, start=start, days=1)[:1]
    await preload(infra.bootstrap, topic, probe, infra.security)
    async with Progress(infra.bootstrap, group, topic, infra.security) as progress:
        deadline = time.monotonic() + 60
        while await progress.committed() < 1:
            if time.monotonic() > deadline:
                raise Skipped("the qualifier did not consume a warm-up event within 60s")
            await asyncio.sleep(0.2)


def run(infra: Infra, *, duration_s: float, rate: float, profile: bool) -> Outcome:
    hop = broker_hop.measure(infra, duration_s=duration_s, rate=rate)
    topics = infra.fresh_topics("e2e")
    env = infra.service_env(infra.fresh_database(), topics)
    services = {name: infra.service(name, env) for name in ("ingest", "qualifier", "handoff")}
    asyncio.run(warm_up(infra, topics.events, env["LEADSTATE_QUALIFIER_GROUP"]))
    total = int(duration_s * rate) // BATCH * BATCH
    # the audience's last events land about now, so nothing looks stale to the policy
    start = datetime.now(UTC) - timedelta(days=14)
    messages = generate_audience(int(total / 9.1 * 1.05) + 1, seed=41, start=start)[:total]
    if profile:
        for service in services.values():
            service.start_profile()
    meter = CpuMeter(infra, services).start()
    sampler = QuarterSampler(services["qualifier"], duration_s / 4)
    sampler.start()
    batches_before, started = consumer_totals(services["qualifier"], "qualifier"), time.perf_counter()
    ledger, load, errors = asyncio.run(
        drive(infra, services["ingest"], services["handoff"], topics.mql, messages, rate)
    )
    cpu = meter.stop()
    batches = batch_figures(
        batches_before, consumer_totals(services["qualifier"], "qualifier"), time.perf_counter() - started
    )
    by_quarter = sampler.quarters()
    profiles = {name: s.stop_profile() for name, s in services.items()} if profile else {}
    to_mql, to_inbox = ledger.latencies(ledger.mql_at), ledger.latencies(ledger.inbox_at)
    rss = {name: s.peak_rss / 2**20 for name, s in services.items()}
    sent_rate = load.statuses.get(200, 0) * BATCH / load.elapsed_s if load.elapsed_s else 0.0
    if not ledger.mql_at:
        raise Skipped(f"no MQL reached lead.mql in the run ({len(messages)} events sent; {errors[:1]})")

    rows = [
        (
            "ingest request",
            len(load.latencies_s),
            *(percentile_ms(load.latencies_s, p) for p in (50, 95, 99)),
        ),
        ("event → MQL on lead.mql", len(to_mql), *(percentile_ms(to_mql, p) for p in (50, 95, 99))),
        ("event → item in inbox", len(to_inbox), *(percentile_ms(to_inbox, p) for p in (50, 95, 99))),
    ]
    print(
        f"{len(messages):,} events at {rate:,.0f}/s for {duration_s:.0f}s (achieved {sent_rate:,.0f}/s), "
        f"batches of {BATCH}, {CLIENTS} connections; answers {load.statuses}"
    )
    print(table(rows, ("end to end", "count", "p50 ms", "p95 ms", "p99 ms")))
    print(table([(n, v) for n, v in rss.items()], ("service", "peak RSS MB")))
    print("cores busy (1.0 = one core): " + ", ".join(f"{n} {v}" for n, v in cpu.items()))
    print(
        "qualifier batches: {batches:.0f}, mean {mean_batch_events:.0f} events and {mean_batch_ms:.0f} ms"
        " each, {share_of_time_in_batches:.0%} of the time in a batch; changelog sweeps between them:"
        " {sweeps:.0f} transactions of {mean_sweep_ms:.0f} ms".format(**batches)
    )
    print(
        table(
            [
                (
                    label,
                    f"{q['mean_batch_events']:.0f}",
                    f"{q['mean_batch_ms']:.1f}",
                    f"{q['share_of_time_in_batches']:.0%}",
                    *(f"{q[f'mean_{p}_ms']:.1f}" for p in (*PHASES, "other")),
                )
                for label, q in (
                    ("whole run", batches),
                    *((f"quarter {i}", q) for i, q in enumerate(by_quarter, 1)),
                )
            ],
            ("qualifier batches", "events", "ms", "busy", *PHASES, "other"),
        )
    )
    windows = by_window(ledger.timed(ledger.mql_at))
    print("p50 event → MQL by quarter of the run (ms): " + "  ".join(fmt(w) for w in windows))
    quarters = "  ".join(fmt(q) for q in hop["p99_by_quarter"])  # type: ignore[attr-defined]
    print(
        "the broker alone, one hop (produce → group consumer, same rate and shape, before the run): "
        f"p50 {fmt(hop['p50'])} / p95 {fmt(hop['p95'])} / p99 {fmt(hop['p99'])} ms; "
        f"p99 by quarter {quarters} ms; broker {hop['broker_cores']} core"
    )
    p99_mql = percentile_ms(to_mql, 99)
    two_hops = 2 * hop["p99"] if hop["p99"] else None  # type: ignore[operator]
    hop_ratio = p99_mql / two_hops if p99_mql is not None and two_hops else None
    if hop_ratio is not None:
        print(f"p99 event → MQL on lead.mql = {hop_ratio:.2f}× two broker hops' p99 ({two_hops:.0f} ms)")
    if errors:
        print(f"  inbox errors: {errors[:2]}")
    p99_inbox = percentile_ms(to_inbox, 99)
    return Outcome(
        "e2e",
        metrics={
            "events": len(messages),
            "rate": rate,
            "achieved_rate": sent_rate,
            "duration_s": duration_s,
            "statuses": {str(k): v for k, v in load.statuses.items()},
            "mqls": len(ledger.mql_at),
            "inbox_items": len(ledger.inbox_at),
            "latency_ms": {r[0]: dict(zip(("count", "p50", "p95", "p99"), r[1:], strict=True)) for r in rows},
            "peak_rss_mb": rss,
            "inbox_errors": errors[:5],
            "mql_p50_ms_by_quarter": windows,
            "cpu_cores": cpu,
            "qualifier_batches": batches,
            "qualifier_batches_by_quarter": by_quarter,
            "broker_one_hop_ms": hop,
            "p99_mql_over_two_broker_hops": hop_ratio,
        },
        checks=[
            Check("p99 event → MQL on lead.mql (ms)", p99_mql, 200, higher_is_better=False),
            Check("p99 event → item in inbox (ms)", p99_inbox, 200, higher_is_better=False),
            *(Check(f"{n} peak RSS MB", v, 200, higher_is_better=False) for n, v in rss.items()),
        ],
        profiles=profiles,
    )
