"""The policy lab's pure parts: the fold under two policies, the join with recorded decisions, the
Wilson interval, the report and its rendering, on a demo history with ground-truth sales decisions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.policy import Policy, PolicyError, load_policy
from services.qualifier.demo import SALES_OUTCOMES, generate_audience_with_truth, simulate_sales_outcome
from services.qualifier.lab.fold import fold_entries
from services.qualifier.lab.join import wilson
from services.qualifier.lab.render import render
from services.qualifier.lab.report import build_report
from tests.history import History, recorded_history

POLICIES = Path(__file__).resolve().parents[3] / "policies"
HERE = POLICIES / "examples"
START = datetime(2026, 9, 1, tzinfo=UTC)


def policy_at(path: Path) -> Policy:
    return load_policy(path.read_text(encoding="utf-8"), str(path))


@pytest.fixture(scope="module")
def loose() -> Policy:
    return policy_at(HERE / "loose.yaml")


@pytest.fixture(scope="module")
def focused() -> Policy:
    return policy_at(POLICIES / "default.yaml")


@pytest.fixture(scope="module")
def history(loose: Policy) -> History:
    messages, truth = generate_audience_with_truth(600, seed=8, start=START, days=30)
    return recorded_history(messages, truth, loose, seed=2)


def test_wilson_interval():
    assert wilson(0, 0) == (None, None, None)
    rate, low, high = wilson(8, 10)
    assert rate == 0.8 and low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 5)[1] == 0.0 and wilson(5, 5)[2] == 1.0


def test_sales_outcome_follows_intent():
    import random

    rng = random.Random(1)
    hot = Counter(simulate_sales_outcome("hot", rng)[0] for _ in range(2000))
    researcher = Counter(simulate_sales_outcome("researcher", rng) for _ in range(500))
    assert 0.7 < hot["sql"] / 2000 < 0.8
    assert set(researcher) <= {("rejected", "student_or_job_seeker"), ("rejected", "competitor")}
    codes = {c for choices in SALES_OUTCOMES.values() for _, _, cs in choices for c in cs}
    default = policy_at(POLICIES / "default.yaml")
    assert codes <= {r.code for r in (*default.sql_reasons, *default.not_sql_reasons)}


def test_same_policy_on_both_sides_changes_nothing(history: History, loose: Policy):
    report = build_report(fold_entries(history.entries, loose, loose), loose, loose)
    assert report["mqls"]["baseline"] == report["mqls"]["candidate"] > 0
    assert report["leads_gained"]["count"] == report["leads_lost"]["count"] == 0
    assert (
        report["sql_recall"]["recall"] == 1.0
        and report["sql_recall"]["same_time"] == report["sql_recall"]["past_sqls"]
    )
    assert report["rejections"]["no_longer_sent"] == 0 and report["unseen"]["leads"] == 0
    assert report["sql_rate"]["baseline"] == report["sql_rate"]["candidate"]


def test_recorded_decisions_all_land_on_the_baselines_mqls(history: History, loose: Policy, focused: Policy):
    folded = fold_entries(history.entries, loose, focused)
    assert folded.decisions and all(d.landed["baseline"] for d in folded.decisions)
    assert len(folded.decisions) == len(folded.mqls["baseline"])


def test_focused_candidate_against_ground_truth(history: History, loose: Policy, focused: Policy):
    report = build_report(fold_entries(history.entries, loose, focused), loose, focused)
    assert report["sql_recall"]["recall"] >= 0.7
    assert report["rejections"]["no_longer_sent"] >= 0.8 * report["rejections"]["past_not_sqls"]
    assert report["sql_rate"]["candidate"]["low"] > report["sql_rate"]["baseline"]["high"]
    folded = fold_entries(history.entries, loose, focused)
    intents = Counter(history.intents[m.lead_id] for m in folded.mqls["candidate"])
    assert intents["hot"] / sum(intents.values()) >= 0.9


def test_the_report_renders_for_a_review(history: History, loose: Policy, focused: Policy):
    report = build_report(fold_entries(history.entries, loose, focused), loose, focused)
    table, markdown = render(report, "table"), render(report, "markdown")
    assert "candidate 2026.1 against baseline 2025.9-loose" in table
    assert "SQL rate (95% Wilson interval)" in table and "seminar-attendee" in table
    assert "## Past SQLs (sales made them SQL)" in markdown and "|---|" in markdown


def test_a_score_only_candidate_is_refused_naming_its_rule():
    with pytest.raises(PolicyError) as refused:
        policy_at(HERE / "score_only.yaml")
    assert "'hot-score'" in str(refused.value) and "score alone is refused" in str(refused.value)
