"""Rebuilding lead state from the stored event log (qualifier.events) under a policy.

The log is folded in the order the worker applied it (`seq`), with the worker's own stitching and fold,
so under the same policy the answer equals the live state; under another policy it shows what that
policy would have done. By default nothing is written; `write` replaces leads, identities and the MQL
register in one transaction (no MQL is re-emitted: the outbox is left alone). The lead-state changelog
is folded along (changelog.py), with what fell due before each entry, and the worker's sweeps are
looked at where they happened in the log (`qualifier.sweeps`, sweep.py): the views it would have
published are compared with `qualifier.lead_changelog`, and written back with the rest. Accounts are
folded along too (buying_groups.py), decisions on MQAs included (they are in the log): the MQAs the
log makes are compared with `qualifier.mqas`, each account's stage, episode, company attributes and
holders with `qualifier.accounts`, and who belongs to which account with `qualifier.account_members`; `write`
replaces those three as well (no MQA is re-emitted either).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, null, select, text, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.policy import Policy
from services.common.policy.buying_group import describe_company

from .buying_groups import AccountFold, Book
from .changelog import Changelog
from .eventlog import from_row
from .mqa import mqa_data, mqa_id_for, mqa_row
from .mql import mql_data, mql_row
from .stitching import Ledger, fewer_collections
from .store import lead_row
from .tables import (
    account_members,
    accounts,
    events,
    identities,
    lead_changelog,
    leads,
    mqas,
    mqls,
    sweeps,
)

PAGE = 5000


@dataclass
class Difference:
    lead_id: str
    what: str


@dataclass
class Rebuilt:
    ledger: Ledger
    changelog: Changelog
    events: int = 0
    updates: int = 0  # lead.updated events the log makes
    mqls: dict[str, dict[str, Any]] = field(default_factory=dict)  # mql_id -> register row
    mqas: dict[str, tuple[str, int, str]] = field(default_factory=dict)  # mqa_id -> (account, episode, rule)
    differences: list[Difference] = field(default_factory=list)
    book: Book | None = None  # the accounts the log makes

    @property
    def live_leads(self) -> dict[str, Any]:
        return {k: s for k, s in self.ledger.states.items() if k not in self.ledger.merged_into}

    def mqls_per_rule(self) -> Counter[str]:
        return Counter(row["rule"] for row in self.mqls.values())


async def rebuild(conn: AsyncConnection, policy: Policy) -> Rebuilt:
    """Fold the whole log in memory and compare with the stored leads and MQL register.

    The log and the stored state are read in one snapshot: the worker's sweep commits every interval
    even when no event comes in, and a look committed between reading the log and reading the
    published views would show as a difference that is not one. On a connection not yet in a
    transaction this opens a REPEATABLE READ one; a caller already in a transaction either holds
    the worker off (`lock_for_rewrite`) or answers for its snapshot."""
    if not conn.in_transaction():
        await conn.execution_options(isolation_level="REPEATABLE READ")
    fold = AccountFold.under(policy)
    ledger, book = fold.ledger, fold.book
    result = Rebuilt(ledger, Changelog(policy))
    logged = select(
        events.c.seq,
        events.c.event_id,
        events.c.type,
        events.c.data,
        events.c.occurred_at,
        null().label("swept"),
    )
    looked = select(sweeps.c.seq, null(), null(), null(), sweeps.c.at, sweeps.c.lead_id)
    stream = await conn.stream(union_all(logged, looked).order_by("seq"))
    with fewer_collections():
        async for part in stream.partitions(PAGE):
            for row in part:
                if row.swept is not None:  # where the worker's sweep looked at this lead (sweep.py)
                    if (state := ledger.states.get(ledger.resolve(row.swept))) is not None:
                        result.changelog.look(state, row.occurred_at)
                    continue
                entry = from_row(row.event_id, row.type, row.data, row.occurred_at).entry
                result.changelog.catch_up(ledger, entry)
                fold.fold(entry)
                result.changelog.observe(ledger)
                result.events += 1
            fold.settle()
            result.updates += len(result.changelog.updates)
            result.changelog.updates.clear()  # counted, not kept: a replay publishes nothing
    for fired in ledger.fired:
        data = mql_data(fired.lead_id, fired.mql)
        result.mqls[data["mql_id"]] = mql_row(data, fired.mql)
    result.mqas = {
        mqa_id_for(m.account_id, m.episode): (m.account_id, m.episode, m.rule_name) for m in book.fired
    }
    result.book = book
    stored = (await conn.execute(select(mqas.c.mqa_id, mqas.c.account_id))).all()
    result.differences = await _compare(conn, result)
    result.differences += [
        Difference(account_id, f"MQA {mqa_id} is registered but the log does not make it")
        for mqa_id, account_id in stored
        if mqa_id not in result.mqas
    ]
    result.differences += await _compare_accounts(conn, book)
    known = {mqa_id for mqa_id, _ in stored}
    result.differences += [
        Difference(account_id, f"the log makes MQA {mqa_id} (episode {episode}, rule {rule}), not registered")
        for mqa_id, (account_id, episode, rule) in result.mqas.items()
        if mqa_id not in known
    ]
    return result


async def _compare_accounts(conn: AsyncConnection, book: Book) -> list[Difference]:
    """Each account's stage, episode, company attributes and company holders (an account never qualified
    nor decided is "open", 0 on both sides: the worker stores a row for every account a transaction
    touched), and each lead's account."""
    untouched = ("open", 0)
    rebuilt = {k: (a.stage, a.episode) for k, a in book.accounts.items()}
    rows = (await conn.execute(select(accounts))).all()
    stored = {r.account_id: (r.stage, r.episode) for r in rows}
    out = [
        Difference(
            account_id, f"account {theirs[0]} (episode {theirs[1]}), replay {mine[0]} (episode {mine[1]})"
        )
        for account_id in sorted(rebuilt.keys() | stored.keys())
        if (mine := rebuilt.get(account_id, untouched)) != (theirs := stored.get(account_id, untouched))
    ]
    described = {r.account_id: r.attributes for r in rows}
    held = {r.account_id: r.holders for r in rows}
    for account_id in sorted(book.accounts.keys() | described.keys()):
        mine_attributes, _, mine_holders = (
            describe_company(book.state(account_id).members) if account_id in book.accounts else ({}, {}, {})
        )
        if (theirs_attributes := described.get(account_id, {})) != mine_attributes:
            keys = sorted(
                k
                for k in mine_attributes.keys() | theirs_attributes.keys()
                if mine_attributes.get(k) != theirs_attributes.get(k)
            )
            out.append(Difference(account_id, f"account attributes differ in {', '.join(keys)}"))
        theirs_holders = held.get(account_id)
        if theirs_holders is not None and theirs_holders != mine_holders:  # None: set on its next write
            out.append(Difference(account_id, f"company holders {theirs_holders}, replay {mine_holders}"))
    homes = {
        r.lead_id: r.account_id
        for r in await conn.execute(select(account_members.c.lead_id, account_members.c.account_id))
    }
    for lead_id in sorted(book.home.keys() | homes.keys()):
        if (theirs_home := homes.get(lead_id)) != (mine_home := book.home.get(lead_id)):
            out.append(
                Difference(lead_id, f"member of {theirs_home or 'no account'}, replay {mine_home or 'none'}")
            )
    return out


async def _compare(conn: AsyncConnection, result: Rebuilt) -> list[Difference]:
    out: list[Difference] = []
    rebuilt = {k: s.to_dict() for k, s in result.live_leads.items()}
    stored = {
        r.lead_id: r.state
        for r in await conn.execute(
            select(leads.c.lead_id, leads.c.state).where(leads.c.merged_into.is_(None))
        )
    }
    for lead_id in sorted(rebuilt.keys() | stored.keys()):
        mine, theirs = rebuilt.get(lead_id), stored.get(lead_id)
        if theirs is None:
            out.append(Difference(lead_id, "only in the replay"))
        elif mine is None:
            out.append(Difference(lead_id, "only in the stored state"))
        elif mine != theirs:
            keys = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
            out.append(Difference(lead_id, f"differs in {', '.join(keys)}"))
    registered = {
        r.mql_id: (r.lead_id, r.episode, r.rule)
        for r in await conn.execute(select(mqls.c.mql_id, mqls.c.lead_id, mqls.c.episode, mqls.c.rule))
    }
    replayed = {k: (r["lead_id"], r["episode"], r["rule"]) for k, r in result.mqls.items()}
    for mql_id in sorted(registered.keys() ^ replayed.keys()):
        lead_id, episode, rule = registered.get(mql_id) or replayed[mql_id]
        where = "stored" if mql_id in registered else "replay"
        out.append(Difference(lead_id, f"MQL {mql_id} (episode {episode}, rule {rule}) only in the {where}"))
    for mql_id in sorted(registered.keys() & replayed.keys()):
        if registered[mql_id] != replayed[mql_id]:
            out.append(Difference(registered[mql_id][0], f"MQL {mql_id} fired under another rule"))
    published = {
        r.lead_id: (r.view, r.published_at)
        for r in await conn.execute(
            select(lead_changelog.c.lead_id, lead_changelog.c.view, lead_changelog.c.published_at)
        )
    }
    again = {k: (p.view, p.at) for k, p in result.changelog.published.items()}
    for lead_id in sorted(published.keys() | again.keys()):
        if (live := published.get(lead_id)) != (rebuilt_view := again.get(lead_id)):
            out.append(Difference(lead_id, f"last lead.updated differs{_how(live, rebuilt_view)}"))
    return out


def _how(live: tuple[dict[str, Any], Any] | None, replayed: tuple[dict[str, Any], Any] | None) -> str:
    """What differs between the published view and the replay's: the keys of the view, or its time."""
    if live is None or replayed is None:
        return " (only in the replay)" if live is None else " (only in the stored changelog)"
    (view, at), (again, again_at) = live, replayed
    keys = sorted(k for k in view.keys() | again.keys() if view.get(k) != again.get(k))
    parts = [f"in {', '.join(f'{k} {view.get(k)!r} vs {again.get(k)!r}' for k in keys)}"] if keys else []
    if at != again_at:
        parts.append(f"published at {at.isoformat()} vs {again_at.isoformat()}")
    return f" ({'; '.join(parts)})"


async def write_back(conn: AsyncConnection, result: Rebuilt) -> None:
    """Replace leads, identities and the MQL register with the replay (caller holds the transaction)."""
    ledger = result.ledger
    await conn.execute(delete(leads))
    await conn.execute(delete(identities))
    await conn.execute(delete(mqls))
    await conn.execute(delete(lead_changelog))
    rows = [
        lead_row(state, ledger.resolve(lead_id) if lead_id in ledger.merged_into else None)
        for lead_id, state in ledger.states.items()
    ]
    for start in range(0, len(rows), PAGE):
        await conn.execute(insert(leads), rows[start : start + PAGE])
    ids = [{"identity": k, "lead_id": ledger.lookup(k)} for k in ledger.identities]
    for start in range(0, len(ids), PAGE):
        await conn.execute(insert(identities), ids[start : start + PAGE])
    if result.mqls:
        await conn.execute(insert(mqls), list(result.mqls.values()))
    views = [
        {"lead_id": k, "view": p.view, "published_at": p.at, "due_at": p.due}
        for k, p in result.changelog.published.items()
    ]
    for start in range(0, len(views), PAGE):
        await conn.execute(insert(lead_changelog), views[start : start + PAGE])
    if result.book is not None:
        await _write_accounts(conn, result.book)


async def _write_accounts(conn: AsyncConnection, book: Book) -> None:
    """Accounts, their members and the MQA register as the log makes them. Each row takes a new version
    (the columns' default): the running members' copies of the accounts are then behind, and read again."""
    await conn.execute(delete(accounts))
    await conn.execute(delete(account_members))
    await conn.execute(delete(mqas))
    rows = []
    for account_id, account in book.accounts.items():
        attributes, _, holders = describe_company(book.state(account_id).members)
        rows.append(
            {
                "account_id": account_id,
                "stage": account.stage,
                "episode": account.episode,
                "mqa_at": account.mqa_at,
                "decided_at": account.decided_at,
                "attributes": attributes,
                "holders": holders,
            }
        )
    people = [
        {
            "lead_id": lead_id,
            "account_id": account_id,
            "source": book.sources[lead_id],
            "member": (member := book.members[account_id][lead_id]).to_dict(),
            "last_activity_at": member.last_activity_at,
        }
        for lead_id, account_id in book.home.items()
    ]
    registered = [mqa_row(mqa_data(m), m) for m in book.fired]
    for table, values in ((accounts, rows), (account_members, people), (mqas, registered)):
        for start in range(0, len(values), PAGE):
            await conn.execute(insert(table), values[start : start + PAGE])


async def lock_for_rewrite(conn: AsyncConnection) -> None:
    """Hold the worker off (its next batch waits) while the state is rebuilt and replaced."""
    await conn.execute(
        text(
            "LOCK TABLE qualifier.leads, qualifier.identities, qualifier.mqls, qualifier.lead_changelog, "
            "qualifier.accounts, qualifier.account_members, qualifier.mqas IN EXCLUSIVE MODE"
        )
    )


async def replay_summary(database_url: str, policy: Policy, *, write: bool) -> tuple[list[str], int]:
    """`leadstate replay`: the summary lines and how many differences from the stored state."""
    from services.common.db import create_engine

    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            # one snapshot, taken after the lock when writing (rebuild)
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                if write:
                    await lock_for_rewrite(conn)
                result = await rebuild(conn, policy)
                if write:
                    await write_back(conn, result)
    finally:
        await engine.dispose()
    states = result.live_leads.values()
    stages = Counter(s.stage for s in states)
    lines = [
        f"replayed {result.events} events under policy {policy.version}: {len(states)} leads "
        f"({', '.join(f'{n} {stage}' for stage, n in sorted(stages.items()))})",
        f"MQLs: {len(result.mqls)}"
        + "".join(f"\n  {rule}: {n}" for rule, n in sorted(result.mqls_per_rule().items())),
        f"lead.updated events: {result.updates}",
    ]
    if result.differences:
        lines.append(f"differences from the stored state: {len(result.differences)}")
        lines.extend(f"  {d.lead_id}: {d.what}" for d in result.differences[:20])
        if len(result.differences) > 20:
            lines.append(f"  … and {len(result.differences) - 20} more")
    else:
        lines.append("no differences from the stored state")
    if write:
        lines.append(
            "wrote the replayed leads, identities, MQL register, accounts, account members and MQA register"
            " (no MQL or MQA events re-emitted)"
        )
    return lines, len(result.differences)
