"""What the tests and the benchmarks both run on: free ports, databases made from a migrated template on
one PostgreSQL server, the environment of a service process and the process itself (`leadstate
<command>` as compose runs it). One copy, so a change to how a service starts reaches both."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from services.common.db import connect
from services.common.devstack import spawn_service
from services.common.migrate import upgrade
from services.common.topics import Topics

ROOT = Path(__file__).resolve().parents[1]


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now, for a server a test starts later. Chosen below Linux's ephemeral range
    (32768-60999), never a port the kernel gives itself: a port the OS picks (bind to 0) can be taken
    by any outgoing connection before the server binds it ("already in use")."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def url_of(server_url: str, database: str) -> str:
    """The URL of another database on the same server (same user, password, host and port)."""
    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


def run_sql(server_url: str, *statements: str, database: str = "postgres") -> None:
    async def run() -> None:
        conn = await connect(server_url, database=database)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def create_template(server_url: str, prefix: str) -> str:
    """A database with every migration applied, to copy fresh ones from (CREATE DATABASE … TEMPLATE
    takes milliseconds; migrating each takes seconds). Returns its name."""
    name = f"{prefix}_template_{uuid.uuid4().hex[:10]}"
    run_sql(server_url, f'CREATE DATABASE "{name}"')
    upgrade(url_of(server_url, name))
    return name


def fresh_database(server_url: str, template: str, prefix: str) -> str:
    """A new database copied from the template; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    run_sql(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return url_of(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    run_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_env(
    database_url: str, bootstrap: str, topics: Topics, *, write_key: str, api_keys: dict[str, list[str]]
) -> dict[str, str]:
    """The environment a service process runs with: its database, broker, topics, consumer groups and keys."""
    suffix = topics.events.removeprefix("events-")
    return {
        "LEADSTATE_DATABASE_URL": database_url,
        "LEADSTATE_KAFKA_BOOTSTRAP": bootstrap,
        "LEADSTATE_WRITE_KEYS": write_key,
        "LEADSTATE_API_KEYS": json.dumps(api_keys),
        "LEADSTATE_TOPIC_EVENTS": topics.events,
        "LEADSTATE_TOPIC_MQL": topics.mql,
        "LEADSTATE_TOPIC_DECISIONS": topics.decisions,
        "LEADSTATE_TOPIC_DEAD_LETTER": topics.dead_letter,
        "LEADSTATE_TOPIC_LEAD_STATE": topics.state,
        "LEADSTATE_QUALIFIER_GROUP": f"qualifier-{suffix}",
        "LEADSTATE_HANDOFF_GROUP": f"handoff-{suffix}",
        "LEADSTATE_LOG_FORMAT": "json",
    }


class ServiceProcess:
    """`leadstate <command>` as a real process, as compose runs it, its output in `log_dir`."""

    def __init__(
        self, command: str, env: dict[str, str], log_dir: Path, *, log_name: str | None = None
    ) -> None:
        self.command, self.env = command, {**os.environ, **env}
        self.log_path = log_dir / (log_name or f"{command}.log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        self.process = spawn_service(self.command, self.env, log_path=self.log_path, cwd=ROOT)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
