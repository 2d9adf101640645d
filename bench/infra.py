"""The benchmarks' own infrastructure: an embedded PostgreSQL in a temp dir and a broker on a free
port (or the ones LEADSTATE_DATABASE_URL / LEADSTATE_KAFKA_BOOTSTRAP name), a migrated template
database copied fresh for each run, topics with 6 partitions, and services run as real processes
with their RSS sampled and, on request, profiled with py-spy."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

from services.common.broker_choice import make_broker
from services.common.embedded import Broker, EmbeddedError, start_postgres, wait_for_kafka
from services.common.kafka import ensure_topics
from services.common.kafka_security import PLAINTEXT, client_security, connection_problem
from services.common.processes import private_dir
from services.common.settings import load_settings
from services.common.topics import Topics
from testbed import ServiceProcess, create_template, free_port, fresh_database, run_sql, service_env, url_of

from .report import Skipped

ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = 6
WRITE_KEY = "wk_bench_" + uuid.uuid4().hex
API_KEY = "ak_bench_" + uuid.uuid4().hex


class Infra:
    def __init__(self, work_dir: Path | None = None) -> None:
        # private_dir first reclaims an interrupted run's directory and stops its servers
        self.work_dir = work_dir or private_dir("leadstate-bench-")
        self._own_dir = work_dir is None
        self._pg = None
        self._broker: Broker | None = None
        self.pg_url = ""
        self.bootstrap = ""
        self.security = PLAINTEXT  # an external Kafka's from LEADSTATE_KAFKA_SECURITY_PROTOCOL and co.
        self.template = ""
        self.services: list[Service] = []

    def start(self) -> Infra:
        external_db = os.environ.get("LEADSTATE_DATABASE_URL")
        if external_db:
            self.pg_url = external_db
        else:
            self._pg, self.pg_url = start_postgres(self.work_dir / "pg")
        external_kafka = os.environ.get("LEADSTATE_KAFKA_BOOTSTRAP")
        if external_kafka:
            self.bootstrap, self.security = external_kafka, client_security(load_settings())
            if problem := asyncio.run(connection_problem(self.bootstrap, self.security)):
                raise Skipped(f"LEADSTATE_KAFKA_BOOTSTRAP: {problem}")
        else:
            # the broker `make run` would start (LEADSTATE_EMBEDDED_BROKER), on free ports; Kafka's jars
            # from the dev stack's cache, its log directory in the bench's own temp dir
            settings = load_settings(
                embedded_kafka_port=free_port(), embedded_kafka_controller_port=free_port()
            )
            cache = Path(os.environ.get("LEADSTATE_DATA_DIR") or ROOT / ".leadstate").resolve()
            self._broker = make_broker(settings, cache, home=self.work_dir / "broker")
            print(f"broker: {self._broker.describe()}", flush=True)
            self._broker.start()
            self.bootstrap = self._broker.bootstrap
            wait_for_kafka(self.bootstrap, timeout_s=60)
        self.template = create_template(self.pg_url, "bench")
        return self

    def url_of(self, database: str) -> str:
        return url_of(self.pg_url, database)

    def sql(self, *statements: str, database: str = "postgres") -> None:
        run_sql(self.pg_url, *statements, database=database)

    def fresh_database(self) -> str:
        return fresh_database(self.pg_url, self.template, "bench")

    def fresh_topics(self, label: str) -> Topics:
        suffix = f"{label}-{uuid.uuid4().hex[:6]}"
        topics = Topics.suffixed(suffix)
        created = ensure_topics(
            self.bootstrap,
            topics.all(),
            partitions=PARTITIONS,
            security=self.security,
            compacted=topics.compacted(),
        )
        asyncio.run(created)
        return topics

    def service_env(self, database_url: str, topics: Topics) -> dict[str, str]:
        api_keys = {API_KEY: ["mql:read", "decisions:write", "reports:read"]}
        return {
            **service_env(database_url, self.bootstrap, topics, write_key=WRITE_KEY, api_keys=api_keys),
            "LEADSTATE_INGEST_PORT": str(free_port()),
            "LEADSTATE_QUALIFIER_PORT": str(free_port()),
            "LEADSTATE_HANDOFF_PORT": str(free_port()),
            "LEADSTATE_LOG_LEVEL": "WARNING",
        }

    def service(self, command: str, env: dict[str, str], *, wait_ready: bool = True) -> Service:
        service = Service(command, env, self.work_dir)
        self.services.append(service)
        service.start()
        if wait_ready:
            service.wait_ready()
        return service

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by the embedded PostgreSQL (all its processes) and broker: where the
        machine's cores went besides the services. Empty for external ones."""
        out: dict[str, float] = {}
        if self._pg is not None:
            marker = str((self.work_dir / "pg").resolve())
            total = 0.0
            for proc in psutil.process_iter(["cmdline"]):
                if any(marker in part for part in proc.info["cmdline"] or ()):
                    total += _cpu(proc) + sum(_cpu(child) for child in _children(proc))
            out["postgres"] = total
        if self._broker is not None and self._broker.process is not None:
            out["broker"] = _cpu(psutil.Process(self._broker.process.pid))
        return out

    def stop(self) -> None:
        for service in self.services:
            service.stop()
        if self._broker is not None:
            self._broker.stop()
        if self._pg is not None:
            self._pg.cleanup()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)


class Service(ServiceProcess):
    """A service process with its peak RSS sampled every 100 ms, and py-spy on demand."""

    def __init__(self, command: str, env: dict[str, str], log_dir: Path) -> None:
        self.port = int(env[f"LEADSTATE_{command.upper()}_PORT"])
        super().__init__(command, env, log_dir, log_name=f"{command}-{self.port}.log")
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.peak_rss = 0
        self._sampling = False
        self._profiler: subprocess.Popen[bytes] | None = None
        self._profile_path = log_dir / f"{command}-{self.port}.pyspy.txt"

    def start(self) -> Service:
        super().start()
        self._sampling = True
        threading.Thread(target=self._sample_rss, daemon=True).start()
        return self

    def _sample_rss(self) -> None:
        assert self.process is not None
        try:
            proc = psutil.Process(self.process.pid)
            while self._sampling and self.process.poll() is None:
                self.peak_rss = max(self.peak_rss, proc.memory_info().rss)
                time.sleep(0.1)
        except psutil.Error:
            pass

    def cpu_seconds(self) -> float:
        return _cpu(psutil.Process(self.process.pid)) if self.process else 0.0

    def rss(self) -> int:
        try:
            return psutil.Process(self.process.pid).memory_info().rss if self.process else 0
        except psutil.Error:
            return 0

    def tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout_s: float = 60) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        last = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Skipped(f"{self.command} exited with code {self.process.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise Skipped(f"{self.command} not ready within {timeout_s:.0f}s ({last})")

    def start_profile(self, rate: int = 100) -> bool:
        """py-spy on this process until stop_profile(); False when py-spy is not installed."""
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(py_spy).exists() or self.process is None:
            return False
        self._profiler = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(self.process.pid),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(self._profile_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return True

    def stop_profile(self) -> list[str]:
        if self._profiler is None:
            return []
        self._profiler.send_signal(signal.SIGINT)
        try:
            self._profiler.wait(20)
        except subprocess.TimeoutExpired:
            self._profiler.kill()
            self._profiler.wait()
        self._profiler = None
        try:
            return self._profile_path.read_text().splitlines()
        except OSError:
            return []

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20) -> int:
        self._sampling = False
        if self._profiler is not None:
            self.stop_profile()
        if self.process is None:
            return 0
        return super().stop(sig, timeout_s)


def start_infra() -> Infra:
    try:
        return Infra().start()
    except EmbeddedError as exc:
        raise Skipped(f"infrastructure did not start: {exc}") from exc


def _cpu(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
        # children_*: processes it reaped, e.g. PostgreSQL backends of connections closed since
        return times.user + times.system + times.children_user + times.children_system
    except psutil.Error:
        return 0.0


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


class CpuMeter:
    """CPU seconds each process used between start() and stop(), and the wall time between."""

    def __init__(self, infra: Infra, services: dict[str, Service]) -> None:
        self.infra, self.services = infra, services
        self._start: dict[str, float] = {}
        self._wall = 0.0

    def _now(self) -> dict[str, float]:
        return {
            **{n: s.cpu_seconds() for n, s in self.services.items()},
            **self.infra.cpu_seconds(),
            "bench (client)": _cpu(psutil.Process()),
        }

    def start(self) -> CpuMeter:
        self._start, self._wall = self._now(), time.perf_counter()
        return self

    def stop(self) -> dict[str, float]:
        """Per process: the share of one core used (1.0 = a core busy all the time)."""
        end, wall = self._now(), time.perf_counter() - self._wall
        return {n: round((v - self._start.get(n, 0.0)) / wall, 3) for n, v in end.items() if wall > 0}
