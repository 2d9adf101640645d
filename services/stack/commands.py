"""Platform sub-commands: dev, ingest, qualifier, handoff, migrate, contracts: the wiring that knows
which app each service sub-command starts."""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.common.devrecord import BROKER, DATABASE
from services.common.settings import Settings
from services.common.topics import settings_topics


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dev", help="run everything locally: embedded PostgreSQL and broker, three services")
    p.set_defaults(func=_dev)
    for name, helptext, needs in (
        ("ingest", "run the ingest API (needs LEADSTATE_KAFKA_BOOTSTRAP)", (BROKER,)),
        (
            "qualifier",
            "run the qualifier worker (needs LEADSTATE_DATABASE_URL and LEADSTATE_KAFKA_BOOTSTRAP)",
            (DATABASE, BROKER),
        ),
        (
            "handoff",
            "run the handoff API (needs LEADSTATE_DATABASE_URL and LEADSTATE_KAFKA_BOOTSTRAP)",
            (DATABASE, BROKER),
        ),
    ):
        sp = sub.add_parser(name, help=helptext)
        sp.set_defaults(func=_service, service=name, needs=needs)
    p = sub.add_parser("migrate", help="apply the database migrations (alembic upgrade heads)")
    p.add_argument("--topics", action="store_true", help="also create the Kafka topics")
    p.set_defaults(func=_migrate, needs=(DATABASE,))
    p = sub.add_parser(
        "contracts", help="rewrite the generated documents in contracts/ (OpenAPI, envelope schema)"
    )
    p.set_defaults(func=_contracts)


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.devstack import run_dev

    return run_dev(settings)


def _service(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.logs import configure_logging
    from services.common.runtime import PortInUse, serve

    configure_logging(args.service, level=settings.log_level, fmt=settings.log_format, env=settings.env)
    if args.service == "ingest":
        from services.ingest.app import create_app

        port = settings.ingest_port
    elif args.service == "qualifier":
        from services.qualifier.worker import create_app

        port = settings.qualifier_port
    else:
        from services.handoff.app import create_app

        port = settings.handoff_port
    app = create_app(settings)
    try:
        serve(app, host=settings.host, port=port, what=args.service)
    except PortInUse as exc:
        print(f"leadstate {args.service}: {exc}", file=sys.stderr)
        return 1
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from services.common.migrate import upgrade

    upgrade(settings.require_database_url())
    print("leadstate: database migrated")
    if args.topics:
        from services.common.kafka import ensure_topics
        from services.common.kafka_security import client_security, connection_problem

        bootstrap, security = settings.require_kafka_bootstrap(), client_security(settings)
        if problem := asyncio.run(connection_problem(bootstrap, security)):
            print(f"leadstate migrate: cannot create the topics: {problem}", file=sys.stderr)
            return 1
        names, partitions = settings_topics(settings), settings.topic_partitions
        created = asyncio.run(
            ensure_topics(
                bootstrap, names.all(), partitions=partitions, security=security, compacted=names.compacted()
            )
        )
        print(f"leadstate: topics created: {', '.join(created) or 'none (all existed)'}")
    return 0


def _contracts(args: argparse.Namespace, settings: Settings) -> int:
    from .contracts import export

    for path in export():
        print(f"leadstate: wrote {path}")
    return 0
