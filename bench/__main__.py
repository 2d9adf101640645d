"""`python -m bench [baseline|ingest|qualifier|e2e|lab|webhooks|hop|all] [--quick] [--profile]
[--duration S] [--brokers kafka,tansu]`.

Starts its own PostgreSQL and broker (or uses LEADSTATE_DATABASE_URL / LEADSTATE_KAFKA_BOOTSTRAP),
runs the benchmarks in order, prints a table per benchmark, the targets, a final line of ratios,
and merges the figures into bench/results/latest.json. With `--brokers kafka,tansu` it does all that
once per embedded broker and ends with the figures side by side and a line of ratios between them.
A stage that cannot be measured yet prints "skipped: <why>"; the exit code is non-zero only when a
benchmark failed unexpectedly.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .infra import Infra

from .report import (
    RESULTS_DIR,
    Outcome,
    Skipped,
    checks_table,
    machine,
    profile_lines,
    ratios_line,
    summarize_profile,
    write_results,
)
from .side_by_side import parse_brokers, ratio_line, side_by_side

ORDER = ("baseline", "ingest", "qualifier", "e2e", "lab", "webhooks")
ALONE = ("hop",)  # run when named; `all` has its figures already (e2e measures the hop first)
HEADLINE = ("p99", "per_s", "msgs_per_s", "rows_per_s", "events_per_s", "rss")
PROFILES_DIR = RESULTS_DIR / "profiles"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "which",
        nargs="*",
        default=["all"],
        choices=[*ORDER, *ALONE, "all"],
        metavar="BENCH",
        help=f"one or more of {', '.join((*ORDER, *ALONE))}, or all (default: all but hop)",
    )
    parser.add_argument(
        "--brokers",
        default=None,
        help="kafka,tansu: run once per embedded broker and print the figures side by side "
        "(default: the one LEADSTATE_EMBEDDED_BROKER chooses)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a full run in under 2 minutes")
    parser.add_argument("--profile", action="store_true", help="sample each service with py-spy")
    parser.add_argument("--duration", type=float, default=None, help="end-to-end seconds (default 60)")
    parser.add_argument("--rate", type=float, default=1000.0, help="end-to-end events/s (default 1000)")
    return parser.parse_args(argv)


def run_one(name: str, infra: Infra, args: argparse.Namespace, done: dict[str, Outcome]) -> Outcome:
    from . import baseline, broker_hop, e2e, ingest, lab, qualifier, webhooks

    base = done.get("baseline")
    base_metrics = base.metrics if base and base.status == "ok" else {}
    if name == "baseline":
        return baseline.run(infra, quick=args.quick, profile=args.profile)
    if name == "ingest":
        return ingest.run(
            infra,
            quick=args.quick,
            profile=args.profile,
            produce_rate=base_metrics.get("produce_msgs_per_s"),
        )
    if name == "qualifier":
        return qualifier.run(
            infra,
            quick=args.quick,
            profile=args.profile,
            insert_rate=base_metrics.get("insert_rows_per_s"),
        )
    if name == "lab":
        return lab.run(infra, quick=args.quick)
    if name == "webhooks":
        return webhooks.run(infra, quick=args.quick)
    duration = args.duration if args.duration is not None else (15.0 if args.quick else 60.0)
    if name == "hop":
        return broker_hop.run(infra, duration_s=duration, rate=args.rate)
    return e2e.run(infra, duration_s=duration, rate=args.rate, profile=args.profile)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.ERROR)
    wanted = list(ORDER) if "all" in args.which else [n for n in (*ORDER, *ALONE) if n in args.which]
    try:
        kinds: list[str | None] = list(parse_brokers(args.brokers)) if args.brokers else [None]
    except ValueError as exc:
        print(f"python -m bench: {exc}", file=sys.stderr)
        return 2
    if args.brokers and os.environ.get("LEADSTATE_KAFKA_BOOTSTRAP"):
        print(
            "python -m bench: --brokers starts embedded brokers; unset LEADSTATE_KAFKA_BOOTSTRAP",
            file=sys.stderr,
        )
        return 2
    info = machine()
    print(f"machine: {info['nproc']} cores, {info['cpu']}, {info['ram_gb']} GB RAM, Python {info['python']}")
    started = time.perf_counter()
    per_broker: dict[str, list[Outcome]] = {}
    for kind in kinds:
        if kind is not None:
            os.environ["LEADSTATE_EMBEDDED_BROKER"] = kind  # what start_infra's settings read
            print(f"\n#### broker: {kind} ####", flush=True)
        outcomes = run_suite(wanted, args)
        if outcomes is None:
            continue
        if len(kinds) > 1:
            for o in outcomes:
                o.name = f"{o.name}@{kind}"  # latest.json keeps both
        per_broker[kind or "embedded"] = outcomes
    if not per_broker:
        return 0
    every = [o for outcomes in per_broker.values() for o in outcomes]
    path = write_results(every, quick=args.quick)
    print(f"\nresults: {path} ({time.perf_counter() - started:.0f}s)")
    for kind, outcomes in per_broker.items():
        print(ratios_line(outcomes) + (f" ({kind})" if len(per_broker) > 1 else ""))
    if len(per_broker) > 1:
        for outcomes, kind in zip(per_broker.values(), per_broker, strict=True):
            for o in outcomes:
                o.name = o.name.removesuffix(f"@{kind}")
        print("\n== brokers side by side ==")
        print(side_by_side(per_broker))
        print(ratio_line(per_broker, HEADLINE))
    return 1 if any(o.status == "failed" for o in every) else 0


def run_suite(wanted: list[str], args: argparse.Namespace) -> list[Outcome] | None:
    """The benchmarks on one freshly started infrastructure; None when it could not start."""
    from .infra import start_infra

    outcomes: dict[str, Outcome] = {}
    PROFILES_DIR.mkdir(parents=True, exist_ok=True)
    try:
        infra = start_infra()
    except Skipped as exc:
        print(f"skipped: {exc}")
        return None
    try:
        for name in wanted:
            print(f"\n== {name} ==", flush=True)
            try:
                outcome = run_one(name, infra, args, outcomes)
            except Skipped as exc:
                outcome = Outcome(name, status="skipped", reason=str(exc))
                print(f"skipped: {exc}")
            except Exception as exc:
                outcome = Outcome(name, status="failed", reason=f"{type(exc).__name__}: {exc}")
                traceback.print_exc()
                print(f"failed: {outcome.reason}")
            finally:
                for service in infra.services:
                    service.stop()
                infra.services.clear()
            outcomes[name] = outcome
            if outcome.checks:
                print(checks_table(outcome.checks))
            for profiled, lines in outcome.profiles.items():
                if lines:
                    # collapsed stacks: speedscope.app or flamegraph.pl draw them
                    (PROFILES_DIR / f"{name}-{profiled}.txt").write_text("\n".join(lines) + "\n")
                    summary = summarize_profile(lines)
                    outcome.profiles[profiled] = profile_lines(summary)
                    print(f"profile of {profiled} (py-spy, on-CPU samples):")
                    print("\n".join(outcome.profiles[profiled]))
            sys.stdout.flush()
    finally:
        infra.stop()
    return list(outcomes.values())


if __name__ == "__main__":
    sys.exit(main())
