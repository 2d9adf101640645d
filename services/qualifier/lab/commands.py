"""`leadstate policy simulate` and `leadstate policy diff`: the lab's verbs under `policy`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from services.common.devrecord import DATABASE
from services.common.settings import Settings

EXIT_INVALID = 2  # an invalid or unreadable policy file, as `policy check`
EXIT_EMPTY = 1


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "simulate",
        help="what a candidate policy would have done on the stored history, joined with sales decisions",
    )
    p.add_argument("candidate", type=Path, metavar="CANDIDATE.yaml")
    p.add_argument("--baseline", type=Path, help="current policy (default: LEADSTATE_POLICY_PATH)")
    p.add_argument("--since", type=iso_time, help="count MQLs qualified at or after this ISO date/time")
    p.add_argument("--until", type=iso_time, help="history before this ISO date/time only")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.add_argument("--workers", type=int, help="processes folding the log (default: up to 2 cores)")
    p.set_defaults(func=_simulate, needs=(DATABASE,))
    p = verbs.add_parser("diff", help="the change between two policy files, in words, for review")
    p.add_argument("old", type=Path, metavar="OLD.yaml")
    p.add_argument("new", type=Path, metavar="NEW.yaml")
    p.set_defaults(func=_diff)


def iso_time(value: str) -> datetime:
    """An argparse type: an ISO date or date-time, UTC when it names no zone; else one line, exit 2."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {value!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def refused_options(args: argparse.Namespace) -> str | None:
    """What is wrong with the options `simulate` and `suggest` share (the window, the workers), or None."""
    if args.since and args.until and args.since >= args.until:
        return "--until must be later than --since"
    if args.workers is not None and args.workers < 1:
        return "--workers must be at least 1"
    return None


def print_result(result: dict, fmt: str, render: Callable[[dict, str], str]) -> None:
    """A report or an advice as JSON (every field) or in words (`render`: table or Markdown)."""
    print(json.dumps(result, indent=2, ensure_ascii=False) if fmt == "json" else render(result, fmt))


def _load_both(old_path: Path, new_path: Path):
    """Both policy files read, or None after printing why (each with its lines)."""
    from services.common.policy_file import PolicyFileError, read_policy_file

    try:
        return [read_policy_file(old_path), read_policy_file(new_path)]
    except PolicyFileError as exc:
        print(f"leadstate: {exc}", file=sys.stderr)
        return None


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from .render import render
    from .simulate import simulate
    from .source import EmptyHistory

    refused = refused_options(args)
    if refused:
        print(f"leadstate: {refused}", file=sys.stderr)
        return EXIT_INVALID
    loaded = _load_both(args.baseline or settings.policy_path, args.candidate)
    if loaded is None:
        return EXIT_INVALID
    base, cand = loaded
    try:
        report = asyncio.run(
            simulate(
                settings.require_database_url(),
                base.text,
                cand.text,
                since=args.since,
                until=args.until,
                workers=args.workers,
                baseline_source=base.source,
                candidate_source=cand.source,
            )
        )
    except EmptyHistory as exc:
        print(f"leadstate: nothing to simulate: {exc}", file=sys.stderr)
        return EXIT_EMPTY
    print_result(report, args.format, render)
    return 0


def _diff(args: argparse.Namespace, settings: Settings) -> int:
    from .diff import describe_changes

    loaded = _load_both(args.old, args.new)
    if loaded is None:
        return EXIT_INVALID
    old, new = loaded
    print(f"{old.source} -> {new.source}")
    for sentence in describe_changes(old.policy, new.policy):
        print(f"  - {sentence}")
    return 0
