"""The account pass's clusters: leads that were ever in one account, and accounts that ever shared a lead,
are folded together; leads in no account are left out; the numbering does not depend on the order."""

from __future__ import annotations

from services.qualifier.lab.clusters import account_clusters


def test_a_lead_that_moved_joins_both_accounts_into_one_cluster() -> None:
    clusters = account_clusters(
        [
            ("kei", {"domain:bolt.example", "crm-42"}),  # a group call moved kei from the domain account
            ("aki", {"domain:bolt.example"}),
            ("ren", {"crm-42"}),
            ("mio", {"domain:acme.example"}),
            ("solo", set()),  # free mail: in no account
        ]
    )
    assert clusters.leads == ["aki", "kei", "mio", "ren"]
    by_lead = dict(zip(clusters.leads, clusters.lead_clusters, strict=True))
    by_account = dict(zip(clusters.accounts, clusters.account_clusters, strict=True))
    assert by_lead["aki"] == by_lead["kei"] == by_lead["ren"] == by_account["crm-42"]
    assert by_account["domain:bolt.example"] == by_lead["kei"]
    assert by_lead["mio"] == by_account["domain:acme.example"] != by_lead["kei"]


def test_the_numbering_does_not_depend_on_the_order() -> None:
    pairs = [("a", {"x"}), ("b", {"y"}), ("c", {"x", "y"}), ("d", {"z"})]
    assert account_clusters(pairs) == account_clusters(list(reversed(pairs)))
