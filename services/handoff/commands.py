"""`leadstate users add|list|disable|enable|role|link`: personal console accounts, managed from the
command line against the handoff's database (the running dev stack's, or LEADSTATE_DATABASE_URL).
Each change is audited."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, datetime, timedelta

from services.common.devrecord import DATABASE, URLS
from services.common.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", help="personal console accounts: add, list, disable, enable, role, link")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="a new account; prints its one-time set-password link")
    add.add_argument("email")
    add.add_argument("--role", required=True, help="sales, marketing or admin")
    add.set_defaults(func=_users, needs=(DATABASE, URLS))
    actions.add_parser("list", help="every account, its role and state").set_defaults(
        func=_users, needs=(DATABASE,)
    )
    disable = actions.add_parser("disable", help="disable an account: its console sessions end at once")
    disable.add_argument("email")
    disable.set_defaults(func=_users, needs=(DATABASE,))
    enable = actions.add_parser("enable", help="make a disabled account active again")
    enable.add_argument("email")
    enable.set_defaults(func=_users, needs=(DATABASE,))
    role = actions.add_parser("role", help="change an account's role: open sessions get it at once")
    role.add_argument("email")
    role.add_argument("role", help="sales, marketing or admin")
    role.set_defaults(func=_users, needs=(DATABASE,))
    link = actions.add_parser("link", help="a new one-time set-password link (a forgotten password)")
    link.add_argument("email")
    link.set_defaults(func=_users, needs=(DATABASE, URLS))


def console_base(settings: Settings) -> str:
    if settings.console_url:
        return settings.console_url.rstrip("/").removesuffix("/console")
    host = "localhost" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.handoff_port}"


def set_password_link(settings: Settings, token: str) -> str:
    return f"{console_base(settings)}/console/set-password?token={token}"


def _users(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.db import create_engine, session_factory

    from . import accounts
    from .audit import Actor, record

    engine = create_engine(settings.require_database_url(), pool_size=1)
    actor = Actor(name=f"cli:{getpass.getuser()}")
    now = datetime.now(UTC)
    try:
        async with session_factory(engine)() as session, session.begin():
            if args.action == "list":
                for user in await accounts.list_users(session):
                    print(f"{user.email}\t{user.role}\t{'disabled' if user.disabled else 'active'}")
                return 0
            if args.action == "disable":
                user = await accounts.disable_user(session, args.email, now=now)
                await record(session, actor, "user.disabled", user.email, {})
                print(f"leadstate: {user.email} disabled; their console sessions have ended")
                return 0
            if args.action == "enable":
                user = await accounts.enable_user(session, args.email)
                await record(session, actor, "user.enabled", user.email, {})
                print(f"leadstate: {user.email} ({user.role}) is active again")
                return 0
            if args.action == "role":
                user, was = await accounts.change_role(session, args.email, args.role)
                await record(session, actor, "user.role_changed", user.email, {"role": user.role, "was": was})
                print(f"leadstate: {user.email} is now {user.role} (was {was})")
                return 0
            valid = timedelta(seconds=settings.set_password_link_s)
            if args.action == "add":
                user, token = await accounts.add_user(
                    session, args.email, args.role, by=actor.name, now=now, link_valid=valid
                )
                await record(session, actor, "user.added", user.email, {"role": user.role})
            else:
                user, token = await accounts.new_link(session, args.email, now=now, link_valid=valid)
                await record(session, actor, "user.link_sent", user.email, {})
            hours = settings.set_password_link_s / 3600
            print(f"leadstate: {user.email} ({user.role}): set a password within {hours:g} h, once, at")
            print(set_password_link(settings, token))
            return 0
    except accounts.AccountError as exc:
        print(f"leadstate users {args.action}: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
