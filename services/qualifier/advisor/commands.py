"""`leadstate policy suggest`: the advisor's verb under `policy`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.common.devrecord import DATABASE
from services.common.settings import Settings

from ..lab.commands import EXIT_EMPTY, EXIT_INVALID, iso_time, print_result, refused_options


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = verbs.add_parser(
        "suggest",
        help="backtested edits of the MQL and account rules that sales' reasons call for (never applied)",
    )
    p.add_argument("--policy", type=_path, help="current policy (default: LEADSTATE_POLICY_PATH)")
    p.add_argument("--since", type=iso_time, help="decisions at or after this ISO date/time")
    p.add_argument("--until", type=iso_time, help="history before this ISO date/time only")
    p.add_argument("--rule", action="append", default=[], help="only this rule or account rule (repeatable)")
    p.add_argument(
        "--min-decisions",
        type=int,
        default=30,
        help="decided MQLs (MQAs, for account rules) a suggestion must rest on",
    )
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes folding the history (default: up to 2, one per core); 1 folds in this process",
    )
    p.set_defaults(func=_suggest, needs=(DATABASE,))


def _path(value: str) -> Path:
    return Path(value)


def _suggest(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.policy import PolicyError
    from services.common.policy_file import PolicyFileError, read_policy_file

    from ..lab.source import EmptyHistory, default_workers
    from .render import render
    from .source import suggest
    from .suggest import NotEnoughHistory, Window

    refused = refused_options(args) or (
        "--min-decisions must be at least 1" if args.min_decisions < 1 else None
    )
    if refused:
        print(f"leadstate: {refused}", file=sys.stderr)
        return EXIT_INVALID
    try:
        read = read_policy_file(args.policy or settings.policy_path)
    except PolicyFileError as exc:
        print(f"leadstate: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        advice = asyncio.run(
            suggest(
                settings.require_database_url(),
                read.text,
                min_decisions=args.min_decisions,
                window=Window(since=args.since, until=args.until),
                rules=tuple(args.rule),
                policy_name=read.source,
                workers=args.workers or default_workers(),
            )
        )
    except PolicyError as exc:
        print(f"leadstate: {read.source} is not a valid policy:\n{exc}", file=sys.stderr)
        return EXIT_INVALID
    except (EmptyHistory, NotEnoughHistory) as exc:
        print(f"leadstate: no suggestions: {exc}", file=sys.stderr)
        return EXIT_EMPTY
    print_result(advice, args.format, render)
    return 0
