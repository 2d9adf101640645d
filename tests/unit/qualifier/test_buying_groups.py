"""The account fold without IO: notes taken after each folded entry, applied in order to a book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.qualifier.buying_groups import Book, BuyingGroups
from services.qualifier.stitching import AccountDecided, Entry, Ledger, activity_from_message, lead_id_for

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
        for note in groups.seen:
            book.take(note)
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
    book.decide(decided("d0", account, "sql", 7, days=4))
    assert book.accounts[account].stage == "mqa"
    book.decide(decided("d1", account, "recycled", 1, days=4))
    assert (book.accounts[account].stage, book.accounts[account].episode) == ("recycled", 1)


def decided(event_id: str, account_id: str, outcome: str, episode: int, *, days: float) -> AccountDecided:
    return AccountDecided(
        event_id=event_id,
        account_id=account_id,
        outcome=outcome,
        episode=episode,
        time=T0 + timedelta(days=days),
    )


def test_readers_arriving_latest_first_still_make_the_mqa(policy) -> None:  # type: ignore[no-untyped-def]
    """Members' events travel on different partitions: the reader dated last may arrive first. The
    account is evaluated at its own clock (its latest member activity), not at the arriving event's."""
    messages = company()
    identifies = [m for m in messages if m[1]["type"] == "identify"]
    reads = [m for m in messages if m[1]["type"] == "track"]
    in_order = fold(policy, messages, batch=1)
    [mqa] = fold(policy, identifies + reads[::-1], batch=1).fired
    assert mqa == in_order.fired[0] and mqa.at == T0 + timedelta(days=3)


def test_a_recycled_account_qualifies_again_on_later_activity_even_if_the_decision_arrives_late(
    policy,  # type: ignore[no-untyped-def]
) -> None:
    """Recycled on day 4 (the decision is an entry of the log); three readers dated days 5-7 make
    episode 2, whether they arrive after the decision or before it (a decision is then a look)."""
    props = {"asset_id": "wp-mql-sql-guide"}
    again = [
        message("track", 5 + i, 100 + i, userId=u, event="Content Downloaded", properties=props)
        for i, u in enumerate(["dir", "mgr", "eng"])
    ]
    decision = decided("dec", "domain:acme.example", "recycled", 1, days=4)
    for late in (False, True):
        ledger, book, groups = Ledger(policy), Book(policy), BuyingGroups(policy)
        entries: list[Entry] = [activity_from_message(*m) for m in company() + again]
        entries.insert(len(entries) if late else 6, decision)
        for entry in entries:
            ledger.fold(entry)
            groups.observe(ledger)
        for note in groups.seen:
            book.take(note)
        assert [(m.episode, m.at) for m in book.fired] == [
            (1, T0 + timedelta(days=3)),
            (2, T0 + timedelta(days=7)),
        ], late
        assert book.accounts["domain:acme.example"].stage == "mqa"


def test_a_company_outside_the_rules_is_looked_at_again_when_a_member_changes_its_traits(policy) -> None:  # type: ignore[no-untyped-def]
    """The book keeps, per account, which rules its company meets (attribute_fit) and skips the others
    however busy the members are; a member's new company traits make it look again. Here a retailer's
    buying group forms (days 1-3) and qualifies only when the director says the company is a software
    house (day 3.5, a target industry), at that moment, whatever the batches."""
    retail = [
        (
            event_id,
            {**body, "traits": {**body["traits"], "industry": "retail"}} if "traits" in body else body,
            t,
        )
        for event_id, body, t in company()
    ]
    assert fold(policy, retail, batch=100).fired == []
    traits = {"email": "dir@acme.example", "title": "Director", "industry": "software", "company_size": 300}
    moved = [*retail, message("identify", 3.5, 80, userId="dir", traits=traits)]
    [mqa] = fold(policy, moved, batch=1).fired
    assert mqa.account_id == "domain:acme.example" and mqa.at == T0 + timedelta(days=3.5)
    assert fold(policy, moved, batch=100).fired == [mqa]
