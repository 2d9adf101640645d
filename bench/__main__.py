"""`python -m bench [baseline|ingest|qualifier|e2e|lab|webhooks|all] [--quick] [--profile] [--duration S]`.

Starts its own PostgreSQL and broker (or uses LEADSTATE_DATABASE_URL / LEADSTATE_KAFKA_BOOTSTRAP),
runs the benchmarks in order, prints a table per benchmark, the targets, a final line of ratios,
and merges the figures into bench/results/latest.json. A stage that cannot be measured yet prints
"skipped: <why>"; the exit code is non-zero only when a benchmark failed unexpectedly.
"""

from __future__ import annotations

import argparse
import logging
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

ORDER = ("baseline", "ingest", "qualifier", "e2e", "lab", "webhooks")
PROFILES_DIR = RESULTS_DIR / "profiles"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "which",
        nargs="*",
        default=["all"],
        choices=[*ORDER, "all"],
        metavar="BENCH",
        help=f"one or more of {', '.join(ORDER)}, or all (default)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a full run in under 2 minutes")
    parser.add_argument("--profile", action="store_true", help="sample each service with py-spy")
    parser.add_argument("--duration", type=float, default=None, help="end-to-end seconds (default 60)")
    parser.add_argument("--rate", type=float, default=1000.0, help="end-to-end events/s (default 1000)")
    return parser.parse_args(argv)


def run_one(name: str, infra: Infra, args: argparse.Namespace, done: dict[str, Outcome]) -> Outcome:
    from . import baseline, e2e, ingest, lab, qualifier, webhooks

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
    return e2e.run(infra, duration_s=duration, rate=args.rate, profile=args.profile)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.ERROR)
    wanted = list(ORDER) if "all" in args.which else [n for n in ORDER if n in args.which]
    info = machine()
    print(f"machine: {info['nproc']} cores, {info['cpu']}, {info['ram_gb']} GB RAM, Python {info['python']}")
    from .infra import start_infra

    outcomes: dict[str, Outcome] = {}
    PROFILES_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        infra = start_infra()
    except Skipped as exc:
        print(f"skipped: {exc}")
        return 0
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
    path = write_results(list(outcomes.values()), quick=args.quick)
    print(f"\nresults: {path} ({time.perf_counter() - started:.0f}s)")
    print(ratios_line(list(outcomes.values())))
    return 1 if any(o.status == "failed" for o in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
