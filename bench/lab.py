"""Policy lab: `leadstate policy simulate` over a stored log of ~1,000,000 demo events of ~100,000 leads
(plus one sales decision on every lead a salesperson would have seen), default policy against a
score-led baseline. Wall time and peak RSS of the command and its worker processes together.

The log is written straight into qualifier.events with COPY, in time order (seq), with the lead ids and
merges the worker's stitching gives demo leads (anonymous lead merged into the user's on identify), so
the load takes seconds instead of a full qualifier drain. Decisions land after each lead's last event:
the join and the fold see them, though they were not made on the baseline's own MQLs.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import psutil

from services.common.db import connect
from services.qualifier.demo import generate_audience_with_truth, simulate_sales_outcome
from services.qualifier.stitching import lead_id_for

from .infra import Infra
from .report import Check, Outcome, table

START = datetime(2025, 1, 6, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "policies/examples/loose.yaml"
CANDIDATE = ROOT / "policies/default.yaml"
COLUMNS = ("event_id", "lead_id", "type", "name", "occurred_at", "user_id", "anonymous_id", "data", "seq")


def rows_of(leads: int, seed: int) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """(event rows in applied order, (merged lead, into lead) pairs)."""
    messages, truth = generate_audience_with_truth(leads, seed=seed, start=START, days=90)
    rng = random.Random(seed)
    rows, merges, last = [], {}, {}
    for m in messages:
        anon, user = m["anonymousId"], m.get("userId")
        lead = lead_id_for(f"user:{user}" if user else f"anon:{anon}")
        if user:
            merges[lead_id_for(f"anon:{anon}")] = lead
        at = datetime.fromisoformat(m["timestamp"])
        name = m.get("event") if m["type"] == "track" else m.get("name")
        rows.append([m["messageId"], lead, m["type"], name, at, user, anon, json.dumps(m)])
        last[lead] = at
    for key, intent in truth.items():
        if key.startswith("anon-") or intent == "ghost":
            continue
        lead = lead_id_for(f"user:{key}")
        outcome, code = simulate_sales_outcome(intent, rng)
        waited = rng.uniform(2, 40) * 3600
        decided_at = last[lead] + timedelta(seconds=waited)
        data = {
            "lead_id": lead,
            "mql_id": f"mql-{lead}",
            "episode": 1,
            "outcome": outcome,
            "reason": {"code": code, "label": code},
            "decided_at": decided_at.isoformat(),
            "time_to_decision_s": waited,
            "rule": "engaged-reader",
            "policy_version": "2025.9-loose",
        }
        rows.append([f"dec-{lead}", lead, "decision", outcome, decided_at, None, None, json.dumps(data)])
    rows.sort(key=lambda r: (r[4], r[0]))
    return [(*r, i + 1) for i, r in enumerate(rows)], list(merges.items())


async def load(url: str, rows: list[tuple[Any, ...]], merges: list[tuple[str, str]]) -> None:
    conn = await connect(url)
    try:
        await conn.copy_records_to_table("events", schema_name="qualifier", records=rows, columns=COLUMNS)
        empty = json.dumps({})
        leads = {r[1] for r in rows} | {into for _, into in merges}
        merged = dict(merges)
        await conn.copy_records_to_table(
            "leads",
            schema_name="qualifier",
            records=[(k, "known", 0, merged.get(k), empty) for k in leads],
            columns=("lead_id", "stage", "episode", "merged_into", "state"),
        )
        await conn.execute("ANALYZE qualifier.events; ANALYZE qualifier.leads")
    finally:
        await conn.close()


def measure(env: dict[str, str], workers: int) -> tuple[float, int, dict[str, Any]]:
    """`policy simulate`: (seconds, peak RSS bytes of the command and its children, the report)."""
    done = measure_command(
        env, ["simulate", str(CANDIDATE), "--baseline", str(BASELINE), "--workers", str(workers)]
    )
    return done.seconds, done.peak_rss, done.report


class Measured(NamedTuple):
    seconds: float
    peak_rss: int  # bytes, the command and its children together
    report: dict[str, Any]
    cpu_seconds: float  # user + system of the command and its children: what a loaded machine hides


def measure_command(env: dict[str, str], args: list[str]) -> Measured:
    """`leadstate policy ARGS --format json`, timed and sampled."""
    command = [sys.executable, "-m", "services.cli", "policy", *args, "--format", "json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    peak = [0]

    def sample() -> None:
        parent = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                family = [parent, *parent.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in family if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"policy {args[0]} exited {proc.returncode}: {err.decode()[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(elapsed, peak[0], json.loads(out), cpu)


def run(infra: Infra, *, quick: bool) -> Outcome:
    leads = 10_000 if quick else 108_000  # the demo averages ~9.2 events per lead: ~1,000,000 events
    url = infra.fresh_database()
    t0 = time.perf_counter()
    rows, merges = rows_of(leads, seed=9)
    asyncio.run(load(url, rows, merges))
    print(f"loaded {len(rows):,} log rows of {leads:,} leads in {time.perf_counter() - t0:.0f}s", flush=True)
    env = {"LEADSTATE_DATABASE_URL": url, "LEADSTATE_LOG_LEVEL": "WARNING"}
    figures = []
    metrics: dict[str, Any] = {"events": len(rows), "leads": leads}
    for workers in (1, 2) if quick else (2,):
        seconds, rss, report = measure(env, workers)
        metrics[f"seconds_{workers}w"] = round(seconds, 1)
        metrics[f"peak_rss_mb_{workers}w"] = round(rss / 2**20)
        metrics[f"events_per_s_{workers}w"] = round(len(rows) / seconds)
        figures.append(
            [
                workers,
                f"{seconds:.1f}",
                f"{len(rows) / seconds:,.0f}",
                f"{rss / 2**20:,.0f}",
                report["mqls"]["baseline"],
                report["mqls"]["candidate"],
            ]
        )
    print(
        table(figures, ["workers", "seconds", "log rows/s", "peak RSS MB", "baseline MQLs", "candidate MQLs"])
    )
    best = min(v for k, v in metrics.items() if k.startswith("seconds_"))
    rss_best = max(v for k, v in metrics.items() if k.startswith("peak_rss_mb_"))
    checks = [
        Check(
            "simulate 1M events < 60 s" if not quick else "simulate (quick size) < 60 s", best, 60.0, False
        ),
        Check("peak RSS < 1024 MB", rss_best, 1024.0, False),
    ]
    from . import advisor  # it reuses this module's loader and measurement

    advised, advice_checks = advisor.run(infra, quick=quick)
    metrics.update(advised)
    return Outcome("lab", metrics=metrics, checks=checks + advice_checks)
