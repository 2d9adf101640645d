"""The account fold without IO: notes taken after each folded entry, applied in order to a book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.qualifier.buying_groups import Book, BuyingGroups
from services.qualifier.decisions import AccountDecided
from services.qualifier.stitching import Ledger, activity_from_message, lead_id_for

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def message(kind: str, days: float, n: int, **body: object) -> tuple[str, dict, datetime]:
    return f"e{n}", {"type": kind, **body}, T0 + timedelta(days=days)


def company(tag: str = "acme") -> list[tuple[str, dict, datetime]]:
    """Three people of one company, each reading one asset on lead management."""
    out = []
    for i, (user, title) in enumerate([("dir", "Director"), ("mgr", "Sales Manager"), ("eng", "Engineer")]):
        traits = {
            "email": f"{user}@{tag}.example",
            "title": title,
            "industry": "software",
            "company_size": 300,
        }
        out.append(message("identify", i / 10, 10 * i, userId=user, traits=traits))
        props = {"asset_id": "wp-lead-scoring" if i % 2 else "wp-mql-sql-guide"}
        out.append(
            message("track", 1 + i, 10 * i + 1, userId=user, event="Content Downloaded", properties=props)
        )
    return out


def fold(policy, messages, *, batch: int) -> Book:  # type: ignore[no-untyped-def]
    """Fold `messages`, applying the notes to the book every `batch` entries (a worker's transactions)."""
    ledger, book = Ledger(policy), Book(policy)
    for start in range(0, len(messages), batch):
        groups = BuyingGroups(policy)
        for event_id, body, time in messages[start : start + batch]:
            ledger.fold(activity_from_message(event_id, body, time))
            groups.observe(ledger)
        for seen in groups.seen:
            book.apply(seen)
    return book


def test_batch_boundaries_never_change_the_mqa(policy) -> None:  # type: ignore[no-untyped-def]
    one = fold(policy, company(), batch=1)
    whole = fold(policy, company(), batch=100)
    [mqa] = one.fired
    assert mqa.account_id == "domain:acme.example" and mqa.at == T0 + timedelta(days=3)
    assert whole.fired == one.fired


def test_a_group_call_moves_the_lead_and_stitching_carries_the_visitors_account(policy) -> None:  # type: ignore[no-untyped-def]
    messages = company()[:4]
    messages.append(message("group", 2.5, 90, userId="dir", groupId="crm-1", traits={"name": "Acme K.K."}))
    messages.append(message("group", 2.6, 91, anonymousId="visitor", groupId="crm-2"))
    messages.append(message("identify", 2.7, 92, userId="mgr", anonymousId="visitor", traits={}))
    book = fold(policy, messages, batch=2)
    assert book.home[lead_id_for("user:dir")] == "crm-1"
    # the visitor's group call comes along when it is stitched to mgr: mgr moves to crm-2, and the
    # anonymous lead (merged away) is no member of anything
    assert book.members["domain:acme.example"] == {}
    assert set(book.members["crm-2"]) == {lead_id_for("user:mgr")}
    assert lead_id_for("anon:visitor") not in book.home


def test_a_decision_closes_the_episode_and_a_stale_one_changes_nothing(policy) -> None:  # type: ignore[no-untyped-def]
    book = fold(policy, company(), batch=100)
    account = "domain:acme.example"
    book.decide(AccountDecided("d0", account, "sql", 7, T0 + timedelta(days=4)))
    assert book.accounts[account].stage == "mqa"
    book.decide(AccountDecided("d1", account, "recycled", 1, T0 + timedelta(days=4)))
    assert (book.accounts[account].stage, book.accounts[account].episode) == ("recycled", 1)
