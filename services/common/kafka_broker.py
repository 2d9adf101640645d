"""The embedded Apache Kafka: one JVM running a single-node KRaft cluster (broker and controller in one
process) from the jars of kafka_dist, listening on 127.0.0.1 only, its log directory kept across runs
(formatted once), so that what it acknowledged survives a restart or a SIGKILL of everything.

The controller listens on a second port: LEADSTATE_EMBEDDED_KAFKA_CONTROLLER_PORT, by default the broker's
port + 1. Its own log (log4j2, written beside server.properties) goes to kafka.log in its directory; the
JVM's own output (a crash, a bad flag) to the log path the caller names.
"""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from .embedded import BrokerProcess, EmbeddedError, port_open
from .kafka_dist import kafka_version

# Small-machine JVM: a capped heap, the serial collector and the C1 compiler only start a broker in
# about half the time of the defaults (measured here: ~4 s against ~8 s) and need less memory.
JVM_FLAGS = (
    "-Xms64m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
LOG4J2 = """\
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {log}
appender.file.filePattern = {log}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
# per-request and per-partition chatter: only what goes wrong
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
logger.logs.name = org.apache.kafka.storage.internals.log
logger.logs.level = WARN
logger.unified.name = kafka.log.UnifiedLog
logger.unified.level = WARN
"""


class KafkaBroker(BrokerProcess):
    """Apache Kafka on 127.0.0.1:port (controller on controller_port) with its data in `home`."""

    kind = "kafka"
    stop_timeout_s = 30.0  # SIGTERM: Kafka flushes and closes its logs

    def __init__(
        self,
        port: int,
        home: Path,
        libs: Path,
        *,
        controller_port: int | None = None,
        retention_hours: int = 168,
        log_path: Path | None = None,
        listeners: Mapping[str, tuple[int, str]] | None = None,
        properties: Mapping[str, str] | None = None,
        format_args: Sequence[str] = (),
    ) -> None:
        """`listeners`: more client listeners, name -> (port, security protocol), beside the PLAINTEXT
        one on `port` (which stays the inter-broker listener); `properties` are added to (or override)
        server.properties; `format_args` go to the storage format (e.g. `--add-scram`)."""
        self.port, self.home, self.libs = port, home, libs
        self.listeners = dict(listeners or {})
        self.properties = dict(properties or {})
        self.format_args = list(format_args)
        self.controller_port = controller_port or port + 1
        self.retention_hours = retention_hours
        self.log_path = home / "kafka.log"  # the broker's own log (log4j2)
        self.output_path = log_path or home / "kafka-jvm.log"  # the JVM's stdout and stderr
        self.version = kafka_version()
        self.process = None

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    def describe(self) -> str:
        return f"Apache Kafka {self.version} (durable, data in {self.data_dir}; log {self.log_path})"

    def start(self, timeout_s: float = 60.0) -> None:
        for port, what in ((self.port, "broker"), (self.controller_port, "controller")):
            if port_open("127.0.0.1", port):
                raise EmbeddedError(f"port {port} (embedded Kafka {what}) is already in use")
        self.home.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        if not (self.data_dir / "meta.properties").exists():
            self._format(config)
        with open(self.output_path, "ab") as out:
            self.process = subprocess.Popen(
                [*self._java(), "kafka.Kafka", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the dev stack, which stops the broker in order
            )
        deadline = time.monotonic() + timeout_s
        while not port_open("127.0.0.1", self.port):
            if self.process.poll() is not None:
                raise EmbeddedError(f"embedded Kafka exited at start; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedError(f"embedded Kafka did not listen on {self.port} within {timeout_s:.0f}s")
            time.sleep(0.05)

    def _java(self) -> list[str]:
        return [
            "java",
            *JVM_FLAGS,
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
        ]

    def _write_config(self) -> Path:
        (self.home / "log4j2.properties").write_text(LOG4J2.format(log=self.log_path))
        controller = f"127.0.0.1:{self.controller_port}"
        extra = {name: f"{name}://127.0.0.1:{port}" for name, (port, _) in self.listeners.items()}
        protocols = [f"{name}:{protocol}" for name, (_, protocol) in self.listeners.items()]
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": controller,
            "listeners": ",".join(
                [f"PLAINTEXT://{self.bootstrap}", *extra.values(), f"CONTROLLER://{controller}"]
            ),
            "advertised.listeners": ",".join([f"PLAINTEXT://{self.bootstrap}", *extra.values()]),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": ",".join(
                ["PLAINTEXT:PLAINTEXT", *protocols, "CONTROLLER:PLAINTEXT"]
            ),
            "log.dirs": str(self.data_dir),
            "num.partitions": "6",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "6",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.retention.hours": str(self.retention_hours),
            "log.retention.check.interval.ms": "300000",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "2",
            "log.segment.bytes": str(128 * 1024 * 1024),
            **self.properties,
        }
        path = self.home / "server.properties"
        path.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
        return path

    def _format(self, config: Path) -> None:
        """Format the log directory once: a new cluster id and the single voter (--standalone)."""
        cluster_id = new_cluster_id()
        storage_tool = [
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            *self.format_args,
            "-t",
            cluster_id,
        ]
        with open(self.output_path, "ab") as out:
            formatted = subprocess.run(
                [*self._java(), *storage_tool, "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=120,
            )
        if formatted.returncode != 0:
            raise EmbeddedError(
                f"could not format Kafka's log directory {self.data_dir}; see {self.output_path}"
            )


def new_cluster_id() -> str:
    """A KRaft cluster id (a UUID in URL-safe base64, as `kafka-storage random-uuid` prints) that does not
    start with "-": the storage tool would read that as an option and refuse to format."""
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return cluster_id
