"""`leadstate policy simulate` on a recorded history (the real database): a candidate aimed at the
leads' true intent keeps most past SQLs, stops most rejected MQLs and finds hot leads sales never saw;
a score-only candidate is refused; an empty history says so; nothing is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import func, select

from services.common.db import create_engine
from services.qualifier.lab.fold import fold_entries
from services.qualifier.lab.report import build_report
from services.qualifier.lab.simulate import simulate
from services.qualifier.tables import events, leads, mqls, outbox
from tests.integration.lab.conftest import FOCUSED, LOOSE, SCORE_ONLY, Recorded, policy
from tests.support import ROOT


def leadstate(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "policy", *args],
        env={**os.environ, "LEADSTATE_DATABASE_URL": database_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return {
                t.name: int(await conn.scalar(select(func.count()).select_from(t)))
                for t in (events, leads, mqls, outbox)
            }
    finally:
        await engine.dispose()


async def test_focused_candidate_keeps_sqls_cuts_rejections_and_leaves_nothing_behind(
    recorded: Recorded,
) -> None:
    before = await counts(recorded.database_url)
    done = leadstate(
        "simulate",
        str(FOCUSED),
        "--baseline",
        str(LOOSE),
        "--format",
        "json",
        database_url=recorded.database_url,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    decided = [e for e in recorded.history.entries if e.type == "decision"]
    assert report["history"]["decided_mqls"] == len(decided) > 50
    # the baseline is the policy the history was made under: every recorded decision lands on its MQLs
    assert report["sql_rate"]["baseline"]["decided"] == len(decided) == report["mqls"]["baseline"]
    recall, rejections = report["sql_recall"], report["rejections"]
    assert recall["past_sqls"] > 10 and recall["recall"] >= 0.7
    assert rejections["no_longer_sent"] >= 0.8 * rejections["past_not_sqls"]
    by_reason = {r["code"]: r for r in rejections["by_reason"]}
    assert (
        by_reason["student_or_job_seeker"]["no_longer_sent"] == by_reason["student_or_job_seeker"]["past"] > 0
    )
    base, cand = report["sql_rate"]["baseline"], report["sql_rate"]["candidate"]
    assert cand["low"] > base["high"]  # the SQL rate rises beyond both intervals
    # the leads it newly sends, which sales never saw, are mostly truly hot
    gained = report["leads_gained"]
    assert gained["count"] == report["unseen"]["leads"] > 0
    assert all(recorded.intent(lead) == "hot" for lead in gained["examples"])
    assert report["unseen"]["top_rules"] and report["unseen"]["top_reasons"]
    rules = {r["rule"]: r for r in report["rules"]}
    assert rules["engaged-reader"]["candidate"] is None and rules["seminar-attendee"]["baseline"] is None
    assert await counts(recorded.database_url) == before


async def test_two_processes_give_the_same_report_as_one(recorded: Recorded) -> None:
    loose, focused = LOOSE.read_text(), FOCUSED.read_text()
    one = await simulate(recorded.database_url, loose, focused, workers=1)
    two = await simulate(recorded.database_url, loose, focused, workers=2)
    assert one == two and one["mqls"]["candidate"] > 0


async def test_folding_lead_by_lead_gives_the_report_of_one_fold_of_the_whole_history(
    recorded: Recorded,
) -> None:
    """The stored log is folded one final lead (with the leads merged into it) at a time; one ledger
    over every entry in applied order must say exactly the same."""
    loose, focused = policy(LOOSE), policy(FOCUSED)
    whole = build_report(fold_entries(recorded.history.entries, loose, focused), loose, focused)
    stored = await simulate(recorded.database_url, LOOSE.read_text(), FOCUSED.read_text(), workers=1)
    assert whole["history"]["leads"] > 0 and whole["mqls"]["candidate"] > 0
    assert stored == whole


async def test_since_until_bound_the_counted_mqls(recorded: Recorded) -> None:
    loose, focused = LOOSE.read_text(), FOCUSED.read_text()
    whole = await simulate(recorded.database_url, loose, focused, workers=1)
    times = sorted(e.time for e in recorded.history.entries)
    middle = times[len(times) // 2]
    early = await simulate(recorded.database_url, loose, focused, until=middle, workers=1)
    late = await simulate(recorded.database_url, loose, focused, since=middle, workers=1)
    assert 0 < early["mqls"]["baseline"] < whole["mqls"]["baseline"]
    assert early["mqls"]["baseline"] + late["mqls"]["baseline"] == whole["mqls"]["baseline"]


def test_table_and_markdown_read_as_a_review(recorded: Recorded) -> None:
    table = leadstate("simulate", str(FOCUSED), "--baseline", str(LOOSE), database_url=recorded.database_url)
    assert table.returncode == 0, table.stderr
    assert "SQL rate (95% Wilson interval)" in table.stdout and "student_or_job_seeker" in table.stdout
    markdown = leadstate(
        "simulate",
        str(FOCUSED),
        "--baseline",
        str(LOOSE),
        "--format",
        "markdown",
        database_url=recorded.database_url,
    )
    assert (
        "## Past not-SQL decisions" in markdown.stdout
        and "| reason | past | no longer sent |" in markdown.stdout
    )


def test_score_only_candidate_is_refused_naming_the_rule(database_url: str) -> None:
    done = leadstate("simulate", str(SCORE_ONLY), "--baseline", str(LOOSE), database_url=database_url)
    assert done.returncode == 2 and not done.stdout
    assert "'hot-score'" in done.stderr and "score alone is refused" in done.stderr


def test_empty_history_is_a_clear_message(database_url: str) -> None:
    done = leadstate("simulate", str(FOCUSED), "--baseline", str(LOOSE), database_url=database_url)
    assert done.returncode == 1 and not done.stdout
    assert "nothing to simulate" in done.stderr and "empty" in done.stderr


def test_diff_names_the_changes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "policy", "diff", str(LOOSE), str(FOCUSED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Version 2025.9-loose -> 2026.1." in done.stdout
    assert "Rule 'engaged-reader' removed" in done.stdout and "Rule 'seminar-attendee' added" in done.stdout
    assert sum("' added:" in line for line in done.stdout.splitlines()) == 4
