"""The qualifier's per-event CPU, in process: `python -m bench.hotpath [--events N] [--batch N]
[--repeat N] [--profile]`.

No broker and no database: the bench's demo envelopes (as ingest produces them) go through what one
transaction does in the qualifier process, phase by phase, with every lead already cached (the
steady state of a member that owns its partitions): parse the records, build the log entries, read
the ledger from the cache, fold with the changelog, and serialise what the statements send (lead
states, log rows, changelog views, lead.updated and MQL payloads). CPU time of this process
(`time.process_time`), the minimum of `--repeat` runs, so a loaded machine shifts every figure alike.
What it leaves out: asyncpg's protocol, aiokafka's fetch, the event loop.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from services.common.envelope import parse_envelope
from services.common.policy import LeadState, Policy
from services.common.policy_file import read_policy_file
from services.qualifier.changelog import Changelog
from services.qualifier.decay import Published
from services.qualifier.eventlog import applied_order, from_envelope
from services.qualifier.handlers import EVENT_TYPES
from services.qualifier.mql import mql_data, mql_envelope, mql_row
from services.qualifier.stitching import Ledger, all_identities, fewer_collections
from services.qualifier.store import Loaded, _event_columns, _lead_columns, _lead_partitions

from .qualifier import audience, envelope_of

PHASES = ("parse", "entries", "ledger", "fold", "states", "log", "changelog", "mqls")


class Member:
    """What a member keeps between transactions: identities, states, published views."""

    def __init__(self, policy: Policy, digest: Any = None) -> None:
        self.policy, self.digest = policy, digest  # digest: a hashlib object fed every output
        self.identities: dict[str, str] = {}
        self.states: dict[str, LeadState] = {}
        self.merged_into: dict[str, str] = {}
        self.published: dict[str, Published] = {}

    def transaction(self, records: list[bytes], clock: dict[str, float]) -> None:
        tick = time.process_time

        def lap(phase: str, since: float) -> float:
            now = tick()
            clock[phase] += now - since
            return now

        t = tick()
        delivered = [parse_envelope(r, expected_types=EVENT_TYPES) for r in records]
        t = lap("parse", t)
        entries = applied_order([from_envelope(e) for e in delivered])
        partition_of = {e.id: zlib.crc32((e.subject or "").encode()) % 6 for e in delivered}
        t = lap("entries", t)
        keys = all_identities([e.entry for e in entries])
        found = {k: v for k in keys if (v := self.identities.get(k)) is not None}
        loaded = Loaded(Ledger(self.policy, identities=found))
        ledger = loaded.ledger
        for lead_id in set(found.values()):
            while lead_id in self.merged_into:
                ledger.merged_into[lead_id] = self.merged_into[lead_id]
                loaded.versions[lead_id] = 1
                lead_id = self.merged_into[lead_id]
            ledger.states[lead_id] = self.states[lead_id]
            loaded.versions[lead_id] = 1
        changes = Changelog(self.policy, {k: self.published[k] for k in ledger.states if k in self.published})
        t = lap("ledger", t)
        for entry in entries:
            changes.catch_up(ledger, entry.entry)
            ledger.fold(entry.entry)
            changes.observe(ledger)
        t = lap("fold", t)
        partitions = _lead_partitions(loaded, partition_of)
        sizes: dict[str, int] = {}
        states = _lead_columns(ledger, sorted(ledger.changed), partitions, sizes)
        t = lap("states", t)
        log = _event_columns(ledger, entries)
        t = lap("log", t)
        keys_touched = sorted(changes.touched)
        views = [orjson.dumps(changes.published[k].view).decode() for k in keys_touched]
        updates = [(u.lead_id, u.id, u.payload()) for u in changes.updates]
        t = lap("changelog", t)
        made = [(mql_data(f.lead_id, f.mql), f.mql) for f in ledger.fired]
        rows = [mql_row(data, mql) for data, mql in made]
        mqls = [orjson.dumps(row["data"]).decode() for row in rows]
        mqls += [mql_envelope(data, mql).to_bytes().decode() for data, mql in made]
        lap("mqls", t)
        if self.digest is not None:
            dues = [changes.published[k].due for k in keys_touched]
            for part in (states, log, views, dues, updates, mqls):
                self.digest.update(repr(part).encode())
        self.identities.update({k: ledger.lookup(k) or v for k, v in ledger.identities.items()})
        for lead_id in ledger.changed:
            if lead_id in ledger.merged_into:
                self.merged_into[lead_id] = ledger.resolve(lead_id)
                self.states.pop(lead_id, None)
            else:
                self.states[lead_id] = ledger.states[lead_id]
        self.published.update((k, changes.published[k]) for k in changes.touched)


def records_of(events: int, seed: int) -> list[bytes]:
    received_at = datetime(2025, 1, 6, tzinfo=UTC)  # fixed: the digest compares runs
    return [envelope_of(m, received_at)[1] for m in audience(events, seed)]


def drain(policy: Policy, records: list[bytes], batch: int, digest: Any = None) -> dict[str, float]:
    member = Member(policy, digest)
    clock = dict.fromkeys(PHASES, 0.0)
    with fewer_collections():
        for i in range(0, len(records), batch):
            member.transaction(records[i : i + batch], clock)
    return clock


def best_of(repeat: int, run: Callable[[], dict[str, float]]) -> dict[str, float]:
    best: dict[str, Any] = {}
    for _ in range(repeat):
        clock = run()
        clock["total"] = sum(clock.values())
        if not best or clock["total"] < best["total"]:
            best = clock
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_500, help="records per transaction")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=32)
    parser.add_argument("--policy", default="policies/default.yaml")
    parser.add_argument("--digest", action="store_true", help="sha256 of every output (to compare code)")
    parser.add_argument("--profile", action="store_true", help="cProfile one run; top 40 by --sort")
    parser.add_argument("--sort", default="tottime", help="pstats order: tottime or cumulative")
    args = parser.parse_args(argv)
    policy = read_policy_file(Path(args.policy)).policy
    records = records_of(args.events, args.seed)
    if args.digest:
        digest = hashlib.sha256()
        drain(policy, records, args.batch, digest)
        print(f"{len(records):,} events: outputs sha256 {digest.hexdigest()}")
        return
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(drain, policy, records, args.batch)
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)
        return
    best = best_of(args.repeat, lambda: drain(policy, records, args.batch))
    n = len(records)
    print(f"{n:,} events, {args.batch:,} per transaction, min of {args.repeat}: µs/event (process CPU)")
    for phase in (*PHASES, "total"):
        print(f"  {phase:<10} {best[phase] / n * 1e6:8.1f}")


if __name__ == "__main__":
    main()
