"""What account folding costs one qualifier transaction, in process against a real PostgreSQL (no
broker): `python -m bench.account_fold [--events N] [--batch N] [--rounds N] [--profile]`.

The bench's demo envelopes go through `Qualify.apply` (services/qualifier/handlers.py) in transactions
of `--batch` records, the member's lead cache kept between them as the worker keeps it, under
policies/default.yaml and under the same policy without account rules and roles (bench/accounts.py's
`without_accounts`), in turns, each drain on a fresh database. CPU, not wall time: this process's
(`time.process_time`) and PostgreSQL's (all its processes), per event. `--profile`: cProfile of one
drain with accounts, top 40 by --sort. What it leaves out: aiokafka, the offsets fence, the relay.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import psutil

from services.common.consumer import Delivered
from services.common.db import create_engine, session_factory
from services.common.embedded import start_postgres
from services.common.envelope import parse_envelope
from services.common.outbox import Outbox
from services.common.policy import Policy
from services.common.policy_file import read_policy_file
from services.qualifier.cache import LeadCache
from services.qualifier.handlers import EVENT_TYPES, Qualify
from services.qualifier.stitching import fewer_collections
from services.qualifier.store import absorb
from services.qualifier.tables import outbox
from testbed import create_template, fresh_database

from .accounts import DEFAULT_POLICY, without_accounts
from .hotpath import records_of
from .infra import _children, _cpu

TOPIC = "lead.events"


def delivered_of(records: list[bytes]) -> list[Delivered]:
    out = []
    for offset, raw in enumerate(records):
        envelope = parse_envelope(raw, expected_types=EVENT_TYPES)
        partition = zlib.crc32((envelope.subject or "").encode()) % 6
        out.append(Delivered(envelope=envelope, topic=TOPIC, partition=partition, offset=offset))
    return out


async def drain(url: str, policy: Policy, delivered: list[Delivered], batch: int) -> None:
    engine = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    qualify = Qualify(policy, Outbox(outbox), "lead.mql", TOPIC, LeadCache(512 * 2**20), topic_state="s")
    try:
        with fewer_collections():
            for start in range(0, len(delivered), batch):
                async with sessions() as session, session.begin():
                    written = await qualify.apply(session, delivered[start : start + batch])
                absorb(qualify.cache, written)
    finally:
        await engine.dispose()


def postgres_cpu(marker: str) -> float:
    """All CPU of the PostgreSQL server's processes so far, the backends it reaped included."""
    total = 0.0
    for proc in psutil.process_iter(["cmdline"]):
        if any(marker in part for part in proc.info["cmdline"] or ()):
            total += _cpu(proc) + sum(_cpu(child) for child in _children(proc))
    return total


def measured(server: str, template: str, marker: str, policy: Policy, delivered: list[Delivered], batch: int):
    url = fresh_database(server, template, "fold")
    pg, cpu, wall = postgres_cpu(marker), time.process_time(), time.perf_counter()
    asyncio.run(drain(url, policy, delivered, batch))
    n = len(delivered)
    return {
        "process_ms": (time.process_time() - cpu) / n * 1e3,
        "postgres_ms": (postgres_cpu(marker) - pg) / n * 1e3,
        "wall_s": time.perf_counter() - wall,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.account_fold", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000, help="records per transaction")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=40)
    parser.add_argument("--profile", action="store_true", help="cProfile one drain with accounts")
    parser.add_argument("--sort", default="tottime", help="pstats order: tottime or cumulative")
    parser.add_argument("--only", choices=("with", "without"), help="drain under one policy only")
    args = parser.parse_args(argv)
    delivered = delivered_of(records_of(args.events, args.seed))
    with tempfile.TemporaryDirectory(prefix="leadstate-fold-") as tmp:
        pgdir = Path(tmp) / "pg"
        server_handle, server = start_postgres(pgdir)
        try:
            template = create_template(server, "fold")
            marker = str(pgdir.resolve())
            policies = {
                "with": read_policy_file(DEFAULT_POLICY).policy,
                "without": read_policy_file(without_accounts(DEFAULT_POLICY, Path(tmp))).policy,
            }
            if args.profile:
                profiler = cProfile.Profile()
                url = fresh_database(server, template, "fold")
                profiler.runcall(asyncio.run, drain(url, policies["with"], delivered, args.batch))
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)
                return
            best: dict[str, dict[str, Any]] = {}
            for round_ in range(args.rounds):
                for name, policy in policies.items():
                    if args.only and name != args.only:
                        continue
                    r = measured(server, template, marker, policy, delivered, args.batch)
                    total = r["process_ms"] + r["postgres_ms"]
                    print(
                        f"round {round_ + 1}, {name} accounts: qualifier {r['process_ms']:.3f} + postgres "
                        f"{r['postgres_ms']:.3f} = {total:.3f} CPU ms/event ({1e3 / total:,.0f} events per "
                        f"CPU s), wall {r['wall_s']:.1f} s",
                        flush=True,
                    )
                    if name not in best or total < best[name]["total"]:
                        best[name] = {**r, "total": total}
            if len(best) == 2:
                ratio = best["without"]["total"] / best["with"]["total"]
                print(f"best: with / without accounts (events per CPU s) = {ratio:.2f}")
        finally:
            server_handle.cleanup()


if __name__ == "__main__":
    main()
