"""Backtesting account-rule candidates: the lab's account pass (`AccountPair`, replay's `AccountFold`)
widened to the baseline and every candidate, then each candidate judged by the lab's own report's account
figures against the baseline. Pure.

An account's members are many leads, so this pass folds whole clusters of leads and accounts
(`lab/clusters.py`) on the stored log, or the whole log in memory, not one lead at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from services.common.policy import Policy

from ..buying_groups import AccountFold
from ..eventlog import LogEntry
from ..lab.fold import AccountPair, Folded
from .backtest import BASELINE, FanFolded


class AccountFan(AccountPair):
    """`AccountPair` over any number of named policies; the first must be the baseline (BASELINE)."""

    def __init__(self, policies: dict[str, Policy]) -> None:  # not super: it has two sides only
        self.folds = {name: AccountFold.under(p) for name, p in policies.items()}
        self.folded = FanFolded(mqls={}, mqas={name: [] for name in policies})


def fold_accounts(entries: Iterable[LogEntry], policies: dict[str, Policy]) -> FanFolded:
    """An in-memory log in applied order folded by one `AccountFan` (tests, small logs)."""
    fan = AccountFan(policies)
    for entry in entries:
        fan.fold(entry)
    out = fan.finish()
    assert isinstance(out, FanFolded)
    return out


def account_view(folded: Folded, side: str) -> Folded:
    """The fan's accounts as the lab's two-sided `Folded` (baseline against `side`), for `build_report`."""
    decisions = [
        replace(d, landed={"baseline": d.landed.get(BASELINE, False), "candidate": d.landed.get(side, False)})
        for d in folded.account_decisions
    ]
    return Folded(
        mqas={"baseline": folded.mqas.get(BASELINE, []), "candidate": folded.mqas.get(side, [])},
        account_decisions=decisions,
    )


def account_reports(
    folded: Folded, baseline: Policy, candidates: Sequence[tuple[str, Policy]], **window: Any
) -> dict[str, dict[str, Any]]:
    """Each candidate's account figures (`build_report`'s `accounts`), in the shape `suggest._judge`
    reads a lead report: MQAs stand where MQLs do, accounts where leads do."""
    from ..lab.report import build_report

    out = {}
    for name, policy in candidates:
        a = build_report(account_view(folded, name), baseline, policy, **window)["accounts"]
        out[name] = {
            "rules": a["rules"],
            "sql_rate": a["sql_rate"],
            "sql_recall": a["sql_recall"],
            "rejections": a["rejections"],
            "mqls": a["mqas"],
            "leads_gained": a["accounts_gained"],
            "leads_lost": a["accounts_lost"],
        }
    return out
