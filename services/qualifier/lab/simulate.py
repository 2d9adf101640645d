"""`simulate`: the policy lab's one application function, shared by the CLI and the handoff API."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from services.common.policy import load_policy

from .report import build_report
from .source import default_workers, fold_log


async def simulate(
    database_url: str,
    baseline_yaml: str,
    candidate_yaml: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    workers: int | None = None,
    baseline_source: str = "baseline",
    candidate_source: str = "candidate",
) -> dict[str, Any]:
    """The report as data. Raises PolicyError (invalid policy, naming the rule and line) before reading
    anything, and EmptyHistory when the log is empty."""
    baseline = load_policy(baseline_yaml, baseline_source)
    candidate = load_policy(candidate_yaml, candidate_source)
    folded = await fold_log(
        database_url,
        baseline_yaml,
        candidate_yaml,
        until=until,
        workers=workers if workers is not None else default_workers(),
    )
    return build_report(folded, baseline, candidate, since=since, until=until)


def simulate_in_this_process(database_url: str, baseline_yaml: str, candidate_yaml: str) -> dict[str, Any]:
    """`simulate` folding in this one process (no pool of its own): the entry point of a limited
    worker process, whose memory and CPU limits then measure the whole simulation."""
    return asyncio.run(simulate(database_url, baseline_yaml, candidate_yaml, workers=1))
