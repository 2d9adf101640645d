"""Qualifier sub-commands: `policy check`, `policy explain`, `policy simulate`, `policy diff` (the lab),
`replay`, `demo`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from services.common.devrecord import DATABASE, URLS
from services.common.settings import Settings, SettingsError

from .advisor.commands import register as register_advisor
from .lab.commands import iso_time
from .lab.commands import register as register_lab


def register(sub: argparse._SubParsersAction) -> None:
    policy = sub.add_parser("policy", help="check, explain, simulate or diff MQL policies")
    verbs = policy.add_subparsers(dest="verb", required=True, metavar="VERB")
    p = verbs.add_parser("check", help="validate a policy file and print each rule as a sentence")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--language", choices=("en", "ja"), default="en", help="language of the rule sentences (default en)"
    )
    p.set_defaults(func=_check)
    p = verbs.add_parser("explain", help="print a lead's state and how each rule evaluates now")
    p.add_argument("lead", metavar="LEAD_ID", help="lead id, user id, email or anonymous id")
    p.add_argument("--policy", type=Path, help="policy file (default: LEADSTATE_POLICY_PATH)")
    p.add_argument("--at", type=iso_time, help="evaluate at this ISO time instead of now")
    p.set_defaults(func=_explain, needs=(DATABASE,))
    register_lab(verbs)
    register_advisor(verbs)
    p = sub.add_parser("replay", help="rebuild lead state from the stored event log and compare")
    p.add_argument("--policy", type=Path, help="policy file (default: LEADSTATE_POLICY_PATH)")
    p.add_argument(
        "--write",
        action="store_true",
        help="replace the live leads, identities and MQL register (no re-emit)",
    )
    p.set_defaults(func=_replay, needs=(DATABASE,))
    p = sub.add_parser("demo", help="post a synthetic B2B audience through the ingest API")
    p.add_argument("--leads", type=int, default=200, help="how many leads (default 200)")
    p.add_argument(
        "--companies",
        type=int,
        help="companies of several people (buying groups, look-alikes) besides the leads (default leads/10)",
    )
    p.add_argument("--ingest-url", help="default http://127.0.0.1:$LEADSTATE_INGEST_PORT")
    p.add_argument("--write-key", help="default: first of LEADSTATE_WRITE_KEYS, else the dev key file")
    p.add_argument("--seed", type=int, help="same seed, same audience (default: a new one each run)")
    p.add_argument("--days", type=int, default=14, help="spread the activity over the last N days")
    p.add_argument(
        "--language",
        choices=("en", "ja"),
        default="en",
        help="names, companies, titles and content in ja or en",
    )
    p.set_defaults(func=_demo, needs=(URLS,))


def _policy(path: Path | None, settings: Settings):
    """The --policy file, else LEADSTATE_POLICY_PATH; a SettingsError naming which when it does not load."""
    from services.common.policy_file import PolicyFileError, read_policy_file, settings_policy

    if path is None:
        return settings_policy(settings)
    try:
        return read_policy_file(path).policy
    except PolicyFileError as exc:
        raise SettingsError(f"--policy: {exc}") from None


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.policy import describe_account_rules, describe_policy
    from services.common.policy.explain import missing_languages
    from services.common.policy_file import PolicyFileError, read_policy_file

    try:
        read = read_policy_file(args.file)
    except PolicyFileError as exc:
        print(f"leadstate: {exc}", file=sys.stderr)
        return 2
    path, policy = read.path, read.policy
    print(f"{path}: valid policy, version {policy.version}, {len(policy.rules)} rules")
    for sentence in describe_policy(policy, args.language):
        print(f"  - {sentence}")
    accounts = policy.accounts
    if accounts.rules:
        roles = ", ".join(str(r.label) for r in accounts.roles) or "none"
        print(f"  {len(accounts.rules)} account rules (MQA); buying-group roles: {roles}")
        for sentence in describe_account_rules(policy, args.language):
            print(f"  - {sentence}")
    sql, not_sql = policy.reason_codes("sql"), policy.reason_codes("rejected")
    hours = policy.sla.decision_hours
    print(f"  reason codes: {len(sql)} SQL, {len(not_sql)} not-SQL; decision SLA {hours:g} h")
    lacking = missing_languages(policy, settings.languages)
    for line in lacking:
        print(f"  missing language: {line}")
    if lacking:
        print(
            f"  {len(lacking)} texts lack a language this deployment uses ({', '.join(settings.languages)})"
        )
    return 0


def _explain(args: argparse.Namespace, settings: Settings) -> int:
    from .explain_lead import explain_lead

    policy = _policy(args.policy, settings)
    at = args.at or datetime.now(UTC)
    lines = asyncio.run(explain_lead(settings.require_database_url(), args.lead, policy, at))
    if lines is None:
        print(
            f"leadstate: no lead {args.lead!r} (tried lead id, user id, email, anonymous id)", file=sys.stderr
        )
        return 1
    print("\n".join(lines))
    return 0


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from .replay import replay_summary

    policy = _policy(args.policy, settings)
    lines, differences = asyncio.run(
        replay_summary(settings.require_database_url(), policy, write=args.write)
    )
    print("\n".join(lines))
    return 0 if args.write or not differences else 3


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from .demo_client import post_demo

    if args.leads < 1:
        print("leadstate: --leads must be at least 1", file=sys.stderr)
        return 2
    if args.companies is not None and not 0 <= args.companies <= 10_000:
        print("leadstate: --companies must be between 0 and 10000", file=sys.stderr)
        return 2
    return post_demo(args, settings)
