"""Which leads' histories an account pass must fold together. Pure.

An account's members are many leads, and a lead may move between accounts (a group call wins over its
email's domain), so accounts are folded over groups of leads: the connected parts of "this lead was once
in this account" under either policy. Different parts share no lead and no account, so folding each part
alone, in the log's order, gives what one fold of the whole log gives; each fits in memory on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Clusters:
    """Lead -> cluster and account -> cluster, as parallel lists (query parameters)."""

    leads: list[str]
    lead_clusters: list[int]
    accounts: list[str]
    account_clusters: list[int]


def account_clusters(memberships: Iterable[tuple[str, Iterable[str]]]) -> Clusters:
    """`memberships`: (final lead id, the accounts it was ever in); leads in no account are left out."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    leads = []
    for lead, accounts in memberships:
        names = [f"a:{a}" for a in accounts]
        if not names:
            continue
        leads.append(lead)
        node = f"l:{lead}"
        parent.setdefault(node, node)
        for name in names:
            parent.setdefault(name, name)
            parent[find(name)] = find(node)
    number: dict[str, int] = {}
    for node in sorted(parent):  # sorted: the same numbering however the memberships came
        number.setdefault(find(node), len(number))
    accounts = sorted(n[2:] for n in parent if n.startswith("a:"))
    leads.sort()
    return Clusters(
        leads=leads,
        lead_clusters=[number[find(f"l:{lead}")] for lead in leads],
        accounts=accounts,
        account_clusters=[number[find(f"a:{a}")] for a in accounts],
    )
