"""`leadstate dev` (what `make run` calls): embedded PostgreSQL and broker, migrations, topics, the
three services as separate processes (restarted when one dies), the URLs and dev keys printed; Ctrl-C
or SIGTERM stops it all. What it started is recorded in the data dir (devrecord.py): the next run
reclaims what a crashed one left, and the other CLI commands find the database and broker there."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import IO

from .auth import generate_key
from .broker_choice import make_broker
from .devrecord import DevRecord, remove_record, write_record
from .embedded import Broker, EmbeddedError, start_postgres, wait_for_kafka
from .kafka import ensure_topics
from .kafka_security import client_security
from .migrate import upgrade
from .policy_file import resolve_path
from .processes import ProcessId
from .reclaim import reclaim_previous_run
from .runtime import PARENT_PID_ENV, PortInUse, ensure_port_free
from .settings import SCOPES, Settings
from .supervisor import Supervisor
from .topics import settings_topics

SERVICES = ("ingest", "qualifier", "handoff")


def spawn_service(
    command: str, env: dict[str, str], *, log_path: Path | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """`leadstate <command>` as its own process, with this interpreter; its output to `log_path` (appended)
    or to ours. The tests and benchmarks start services this way too. The service stops by itself
    when this process is gone (runtime.watch_parent), so a killed parent leaves no service running."""
    argv = [sys.executable, "-m", "services.cli", command]
    env = {**env, PARENT_PID_ENV: str(os.getpid())}
    if log_path is None:
        return subprocess.Popen(argv, env=env, cwd=cwd)
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)


def say(line: str = "") -> None:
    print(line, flush=True)


def fail(message: str) -> int:
    print(f"leadstate dev: {message}", file=sys.stderr, flush=True)
    return 1


class Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise Stop()


def acquire_lock(data_dir: Path) -> IO[str]:
    lock_path = data_dir / "dev.lock"
    handle = open(lock_path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        raise EmbeddedError(
            f"another `leadstate dev` is already running (pid {pid}) with data in {data_dir}; "
            "stop it first (Ctrl-C in its terminal)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def dev_keys(settings: Settings, data_dir: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Configured keys win; otherwise keys generated once and kept in the (git-ignored) data dir."""
    path = data_dir / "dev-keys.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if not stored:
        stored = {
            "write_keys": [generate_key("wk_dev")],
            "api_keys": {
                generate_key("ak_dev"): list(SCOPES),
                generate_key("ak_read"): ["mql:read", "reports:read"],
            },
        }
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
    write_keys = list(settings.write_keys) or stored["write_keys"]
    api_keys = {k: list(v) for k, v in settings.api_keys.items()} or stored["api_keys"]
    return write_keys, api_keys


def ensure_database(url: str, name: str = "leadstate") -> str:
    import asyncpg
    from sqlalchemy.engine import make_url

    from .db import connect

    parsed = make_url(url)

    async def create() -> None:
        conn = await connect(url, database="postgres")
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    try:
        asyncio.run(create())
    except (OSError, asyncpg.PostgresError) as exc:
        raise EmbeddedError(f"embedded PostgreSQL does not answer: {exc} (its log: postgres/log)") from None
    return parsed.set(database=name).render_as_string(hide_password=False)


def start_broker(settings: Settings, data_dir: Path) -> Broker:
    """The one place that picks (LEADSTATE_EMBEDDED_BROKER) and starts the embedded broker, saying which."""
    broker = make_broker(settings, data_dir, say=say)
    say(f"leadstate: starting embedded {broker.describe()} on {broker.bootstrap} …")
    broker.start()
    return broker


def wait_ready(
    settings: Settings, children: dict[str, subprocess.Popen[bytes]], timeout_s: float = 90
) -> None:
    pending = dict(service_ports(settings))
    deadline = time.monotonic() + timeout_s
    while pending:
        for name, child in children.items():
            if child.poll() is not None:
                raise EmbeddedError(
                    f"{name} exited with code {child.returncode} during start-up (see its log above)"
                )
        for name, port in list(pending.items()):
            try:
                with urllib.request.urlopen(f"http://{settings.host}:{port}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        del pending[name]
            except OSError:
                pass
        if time.monotonic() > deadline:
            raise EmbeddedError(f"not ready within {timeout_s:.0f}s: {', '.join(pending)}")
        time.sleep(0.3)


def service_ports(settings: Settings) -> dict[str, int]:
    return {
        "ingest": settings.ingest_port,
        "qualifier": settings.qualifier_port,
        "handoff": settings.handoff_port,
    }


def check_ports(settings: Settings) -> None:
    for name, port in service_ports(settings).items():
        ensure_port_free(settings.host, port, f"{name}, LEADSTATE_{name.upper()}_PORT")
    if settings.embedded_kafka:
        ensure_port_free("127.0.0.1", settings.embedded_kafka_port, "broker, LEADSTATE_EMBEDDED_KAFKA_PORT")


def run_dev(settings: Settings) -> int:
    data_dir = settings.data_dir.resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(data_dir, os.W_OK):
            return fail(f"data directory {data_dir} is not writable (LEADSTATE_DATA_DIR)")
        lock = acquire_lock(data_dir)
    except OSError as exc:
        return fail(f"data directory {data_dir} is not usable (LEADSTATE_DATA_DIR): {exc.strerror}")
    except EmbeddedError as exc:
        return fail(str(exc))

    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    broker: Broker | None = None
    pg_server = None
    supervisor: Supervisor | None = None
    me = ProcessId.of(os.getpid())
    assert me is not None
    record = DevRecord(
        owner=me,
        data_dir=str(data_dir),
        host=settings.host,
        ports={**service_ports(settings), "broker": settings.embedded_kafka_port},
        policy_path=str(resolve_path(settings.policy_path).resolve()),
    )
    try:
        reclaim_previous_run(data_dir, settings.embedded_kafka_port if settings.embedded_kafka else None, say)
        write_record(data_dir, record)
        try:
            check_ports(settings)
        except PortInUse as exc:
            return fail(str(exc))

        if settings.database_url:
            database_url = settings.database_url
            say("leadstate: using PostgreSQL from LEADSTATE_DATABASE_URL")
        else:
            say(f"leadstate: starting embedded PostgreSQL in {data_dir / 'postgres'} …")
            pg_server, base_url = start_postgres(data_dir)
            record = record.with_process("postgres", pg_server.get_pid())
            database_url = ensure_database(base_url)
        if settings.kafka_bootstrap:
            bootstrap = settings.kafka_bootstrap
            say(f"leadstate: using Kafka at {bootstrap} from LEADSTATE_KAFKA_BOOTSTRAP")
        else:
            broker = start_broker(settings, data_dir)
            bootstrap = broker.bootstrap
            record = record.with_process("broker", broker.process.pid if broker.process else None)
            record = replace(record, broker_kind=broker.kind)
        record = replace(record, database_url=database_url, bootstrap=bootstrap)
        write_record(data_dir, record)
        security = client_security(settings)
        wait_for_kafka(bootstrap, timeout_s=60, security=security)
        topics = settings_topics(settings)
        asyncio.run(
            ensure_topics(
                bootstrap,
                topics.all(),
                partitions=settings.topic_partitions,
                security=security,
                compacted=topics.compacted(),
            )
        )
        say("leadstate: migrating the database …")
        upgrade(database_url)

        write_keys, api_keys = dev_keys(settings, data_dir)
        env = dict(os.environ)
        env.update(
            LEADSTATE_DATABASE_URL=database_url,
            LEADSTATE_KAFKA_BOOTSTRAP=bootstrap,
            LEADSTATE_WRITE_KEYS=",".join(write_keys),
            LEADSTATE_API_KEYS=json.dumps(api_keys),
        )
        # The handoff reads lead timelines and runs the policy lab through the qualifier's API.
        env.setdefault("LEADSTATE_QUALIFIER_URL", f"http://{settings.host}:{settings.qualifier_port}")
        reader = next((k for k, scopes in api_keys.items() if "mql:read" in scopes and ":" not in k), None)
        if reader is not None:
            env.setdefault("LEADSTATE_QUALIFIER_API_KEY", reader)
        # Local receivers (http://127.0.0.1:…) are what a developer tries webhooks with; never the default.
        env.setdefault("LEADSTATE_WEBHOOK_ALLOW_PRIVATE", "true")

        def restarted(name: str, process: subprocess.Popen[bytes]) -> None:
            nonlocal record
            record = record.with_process(name, process.pid)
            write_record(data_dir, record)

        supervisor = Supervisor(lambda name: spawn_service(name, env), say=say, on_restart=restarted)
        for name in SERVICES:
            record = record.with_process(name, supervisor.start(name).pid)
        write_record(data_dir, record)
        wait_ready(settings, supervisor.processes())
        record = replace(record, status="ready")
        write_record(data_dir, record)
        banner(settings, bootstrap, database_url, write_keys, api_keys, broker)
        while True:
            supervisor.tend()
            time.sleep(0.5)
    except Stop:
        say("\nleadstate: stopping …")
        return 0
    except EmbeddedError as exc:
        return fail(str(exc))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if supervisor is not None:
            supervisor.stop_all()
        if broker is not None:
            broker.stop()
        if pg_server is not None:
            pg_server.cleanup()
        remove_record(data_dir)
        lock.close()


def banner(
    settings: Settings,
    bootstrap: str,
    database_url: str,
    write_keys: list[str],
    api_keys: dict[str, list[str]],
    broker: Broker | None = None,
) -> None:
    host = settings.host
    say("")
    say("leadstate is running. Ctrl-C stops everything.")
    say(f"  ingest     http://{host}:{settings.ingest_port}    (Segment API: POST /v1/track, /v1/batch …)")
    say(f"  handoff    http://{host}:{settings.handoff_port}    (sales API: GET /v1/mqls; docs at /docs)")
    say(
        f"  qualifier  http://{host}:{settings.qualifier_port}    (lead timelines, policy lab; docs at /docs)"
    )
    say(f"  console    http://{host}:{settings.handoff_port}/console    (log in with an API key below)")
    say("  people     first admin: `leadstate users add you@example.com --role admin` prints a link")
    say(f"  broker     {bootstrap}    {broker.describe() if broker else '(LEADSTATE_KAFKA_BOOTSTRAP)'}")
    say(f"  database   {database_url}")
    say("  webhooks   local http:// receivers allowed (LEADSTATE_WEBHOOK_ALLOW_PRIVATE, dev only)")
    say("")
    say("  write key (ingest):   " + ", ".join(write_keys))
    for key, scopes in api_keys.items():
        say(f"  API key (handoff):    {key}   scopes: {' '.join(scopes)}")
    say("")
    say("  try:  curl -u " + write_keys[0] + f": http://{host}:{settings.ingest_port}/v1/track \\")
    say('          -H \'content-type: application/json\' -d \'{"userId":"u1","event":"Seminar Attended"}\'')
    say("")
