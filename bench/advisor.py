"""Policy advisor: `leadstate policy suggest` over a stored log of ~1,000,000 demo events of ~108,000
leads with ~10,000 sales decisions, made (from each lead's hidden intent) on the MQLs of a deliberately
wrong policy (tests/unit/qualifier/advisor_policies/wrong.yaml), which is also the policy advised on:
32 candidate edits backtested. Wall time and peak RSS of the command and its worker processes.

The history is the tests' recorded history (the worker's own stitching and fold, decisions folded back
in), COPY-loaded into qualifier.events with the lead each entry was folded into and the merges.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from services.common.policy import load_policy
from services.qualifier.demo import generate_audience_with_truth
from tests.history import recorded_history

from .infra import Infra
from .lab import ROOT, START, load, measure_command
from .report import Check, table

WRONG = ROOT / "tests/unit/qualifier/advisor_policies/wrong.yaml"
DECIDED = 0.33  # the wrong policy makes ~30,000 MQLs of 108,000 leads: sales answer ~10,000 of them


def rows_of(leads: int, seed: int) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]], int]:
    """(event rows in applied order, (merged lead, into lead) pairs, decisions)."""
    messages, truth = generate_audience_with_truth(leads, seed=seed, start=START, days=90)
    policy = load_policy(WRONG.read_text(encoding="utf-8"), str(WRONG))
    history = recorded_history(messages, truth, policy, seed=seed, decided=DECIDED)
    del messages
    rows, decisions = [], 0
    for seq, (entry, lead_id) in enumerate(zip(history.entries, history.lead_ids, strict=True), start=1):
        r = entry.row(lead_id or str(entry.data.get("lead_id") or ""))
        decisions += r["type"] == "decision"
        rows.append(
            (
                r["event_id"],
                r["lead_id"],
                r["type"],
                r["name"],
                r["occurred_at"],
                r["user_id"],
                r["anonymous_id"],
                orjson.dumps(r["data"], default=str).decode(),
                seq,
            )
        )
    return rows, list(history.merged_into.items()), decisions


def run(infra: Infra, *, quick: bool) -> tuple[dict[str, Any], list[Check]]:
    leads = 10_000 if quick else 108_000
    url = infra.fresh_database()
    t0 = time.perf_counter()
    rows, merges, decisions = rows_of(leads, seed=11)
    asyncio.run(load(url, rows, merges))
    print(
        f"advisor: loaded {len(rows):,} log rows of {leads:,} leads ({decisions:,} decisions) "
        f"in {time.perf_counter() - t0:.0f}s",
        flush=True,
    )
    del rows
    env = {"LEADSTATE_DATABASE_URL": url, "LEADSTATE_LOG_LEVEL": "WARNING"}
    seconds, rss, advice, cpu = measure_command(env, ["suggest", "--policy", str(WRONG), "--workers", "2"])
    # the lab's own two-policy simulation on the same log: what the advisor's 32 candidates cost beside it
    sim_seconds, _, _, sim_cpu = measure_command(
        env, ["simulate", str(ROOT / "policies/default.yaml"), "--baseline", str(WRONG), "--workers", "2"]
    )
    shown = len(advice["suggestions"])
    top = advice["suggestions"][0]["sentence"] if advice["suggestions"] else "(none)"
    print(
        table(
            [
                [f"{seconds:.1f}", f"{cpu:.1f}", f"{rss / 2**20:,.0f}", advice["candidates_tested"], shown],
                [f"{sim_seconds:.1f}", f"{sim_cpu:.1f}", "", "simulate", ""],
            ],
            ["suggest seconds", "CPU seconds", "peak RSS MB", "candidates", "suggestions"],
        )
    )
    print(f"advisor: first suggestion: {top}", flush=True)
    metrics = {
        "suggest_events": advice["history"]["events"],
        "suggest_decisions": advice["history"]["decided_mqls"],
        "suggest_candidates": advice["candidates_tested"],
        "suggest_seconds": round(seconds, 1),
        "suggest_cpu_seconds": round(cpu, 1),
        "simulate_same_log_seconds": round(sim_seconds, 1),
        "simulate_same_log_cpu_seconds": round(sim_cpu, 1),
        "suggest_peak_rss_mb": round(rss / 2**20),
    }
    label = "suggest 1M events, 10k decisions < 120 s" if not quick else "suggest (quick size) < 120 s"
    checks = [
        Check(label, seconds, 120.0, False),
        Check("suggest peak RSS < 1024 MB", rss / 2**20, 1024.0, False),
    ]
    return metrics, checks
