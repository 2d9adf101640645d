"""The stored log's way of folding a candidate with account rules: the lead pass folds only the lead groups
that were never in an account, the account pass folds the others (their MQLs and decision landings come
from it). Played here in memory as source.py reads the log (groups by final lead, then clusters in the
log's order), it must give exactly what folding every lead in the lead pass gives (`fold_entries`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.common.policy import Policy, load_policy
from services.qualifier.demo import generate_audience_with_truth
from services.qualifier.lab.clusters import account_clusters
from services.qualifier.lab.fold import AccountPair, Folded, PolicyPair, fold_entries
from services.qualifier.lab.report import build_report
from services.qualifier.stitching import AccountDecided, DecisionRecord
from tests.history import History, recorded_history

ROOT = Path(__file__).parents[3]
DEFAULT = (ROOT / "policies/default.yaml").read_text(encoding="utf-8")
LOOSE = (ROOT / "policies/examples/loose.yaml").read_text(encoding="utf-8")
FORMING = "      breadth: {min_members: 3}\n"
EASIER = DEFAULT.replace(FORMING, "      breadth: {min_members: 2}\n")


@pytest.fixture(scope="module")
def history() -> History:
    """A demo audience in which every third identified person signs up with a free-mail address (in no
    account: the lead pass folds them), the others with their company's (the account pass does)."""
    messages, truth = generate_audience_with_truth(
        400, seed=21, start=datetime(2026, 9, 1, tzinfo=UTC), days=30
    )
    for message in messages:
        email = (message.get("traits") or {}).get("email")
        if email and int(message["userId"][-6:]) % 3 == 0:
            message["traits"]["email"] = email.split("@")[0] + "@gmail.com"
    return recorded_history(messages, truth, load_policy(LOOSE, "loose.yaml"), seed=8)


def stored_way(history: History, baseline: Policy, candidate: Policy) -> tuple[Folded, set[str]]:
    """source.py's two passes over the log, in memory: each final lead's entries folded by a deferring
    `PolicyPair`, then each cluster's entries (decisions on MQAs routed by their account) by
    `AccountPair(leads=True)`, then the landings joined. Also the decisions whose landing the account
    pass found."""

    def root(lead_id: str) -> str:
        while lead_id in history.merged_into:
            lead_id = history.merged_into[lead_id]
        return lead_id

    roots = []
    for entry, lead_id in zip(history.entries, history.lead_ids, strict=True):
        item = entry.entry
        fallback = item.lead_id if isinstance(item, DecisionRecord) else "-"
        roots.append(root(lead_id) if lead_id else fallback)
    groups: dict[str, list[Any]] = defaultdict(list)
    for entry, key in zip(history.entries, roots, strict=True):
        groups[key].append(entry)
    total = Folded()
    for key in sorted(groups):
        pair = PolicyPair(baseline, candidate, defer=True)
        for entry in groups[key]:
            pair.fold(entry)
        total.extend(pair.finish())
    clusters = account_clusters(total.memberships.items())
    by_lead = dict(zip(clusters.leads, clusters.lead_clusters, strict=True))
    by_account = dict(zip(clusters.accounts, clusters.account_clusters, strict=True))
    parts: dict[int, list[Any]] = defaultdict(list)
    for entry, key in zip(history.entries, roots, strict=True):
        item = entry.entry
        if isinstance(item, AccountDecided):
            parts[by_account.get(item.account_id, -1)].append(entry)
        elif key in by_lead:
            parts[by_lead[key]].append(entry)
    total.memberships = {}
    for cluster in sorted(parts):
        accounts = AccountPair(baseline, candidate, leads=True)
        for entry in parts[cluster]:
            accounts.fold(entry)
        total.extend(accounts.finish())
    from_accounts = set(total.landings)
    total.land()
    return total, from_accounts


def seen(folded: Folded) -> dict[str, Any]:
    mqls = {
        s: sorted((m.lead_id, m.episode, m.rule, m.at, m.reasons) for m in ms)
        for s, ms in folded.mqls.items()
    }
    landed = sorted((d.event_id, d.lead_id, tuple(sorted(d.landed.items()))) for d in folded.decisions)
    mqas = {s: sorted((m.lead_id, m.episode, m.rule, m.at) for m in ms) for s, ms in folded.mqas.items()}
    return {"mqls": mqls, "landed": landed, "mqas": mqas, "events": folded.events, "leads": folded.leads}


@pytest.mark.parametrize(
    ("baseline_text", "candidate_text"),
    [(LOOSE, DEFAULT), (DEFAULT, EASIER)],
    ids=["candidate-only-has-account-rules", "both-have-account-rules"],
)
def test_deferring_the_candidates_accounted_leads_changes_nothing(
    history: History, baseline_text: str, candidate_text: str
) -> None:
    assert EASIER != DEFAULT
    baseline, candidate = load_policy(baseline_text, "baseline"), load_policy(candidate_text, "candidate")
    reference = fold_entries(history.entries, baseline, candidate)
    deferred, from_accounts = stored_way(history, baseline, candidate)
    assert seen(deferred) == seen(reference)
    assert build_report(deferred, baseline, candidate) == build_report(reference, baseline, candidate)
    # both ways of the deferred side were taken: decisions on leads in an account landed in the account
    # pass, the others where the lead pass folded their group at its end
    assert reference.mqls["candidate"] and reference.mqas["candidate"]
    decided = {d.event_id for d in deferred.decisions}
    assert from_accounts and from_accounts < decided
    assert all(set(d.landed) == {"baseline", "candidate"} for d in deferred.decisions)
