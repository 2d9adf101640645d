"""Which embedded broker `leadstate dev`, the tests and the benchmarks start (LEADSTATE_EMBEDDED_BROKER):
Apache Kafka when Java 17+ is on the PATH and its jars are cached or can be fetched, else Tansu."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .embedded import Broker, EmbeddedError, TansuBroker
from .kafka_broker import KafkaBroker
from .kafka_dist import MIN_JAVA, KafkaDistError, ensure_kafka_libs, java_major
from .settings import Settings


def kafka_unavailable(kafka_home: Path | None, cache_root: Path, say: Callable[[str], None]) -> str | None:
    """Why the embedded Apache Kafka cannot run here (one line), or None when it can: Java is recent
    enough and the jars are present (fetched now if needed)."""
    major = java_major()
    if major is None:
        return f"no Java on the PATH (Apache Kafka needs Java {MIN_JAVA}+)"
    if major < MIN_JAVA:
        return f"Java {major} is on the PATH; Apache Kafka needs Java {MIN_JAVA}+"
    try:
        ensure_kafka_libs(cache_root, kafka_home, say=say)
    except KafkaDistError as exc:
        return str(exc)
    return None


def make_broker(
    settings: Settings, data_dir: Path, *, say: Callable[[str], None] = print, home: Path | None = None
) -> Broker:
    """The embedded broker the settings ask for, not started; the jar cache under data_dir, the broker's
    own data and logs in `home` (default: data_dir/kafka, or data_dir/tansu.log). Raises EmbeddedError
    (one line) when `kafka` was asked and cannot run."""
    port = settings.embedded_kafka_port
    if settings.embedded_broker != "tansu":
        why_not = kafka_unavailable(settings.kafka_home, data_dir, say)
        if why_not is None:
            return KafkaBroker(
                port,
                home or data_dir / "kafka",
                ensure_kafka_libs(data_dir, settings.kafka_home, say=say),
                controller_port=settings.embedded_kafka_controller_port,
                retention_hours=settings.kafka_retention_hours,
            )
        if settings.embedded_broker == "kafka":
            raise EmbeddedError(f"LEADSTATE_EMBEDDED_BROKER=kafka, but {why_not}")
        say(f"leadstate: embedded Apache Kafka unavailable ({why_not}); falling back to Tansu")
    return TansuBroker(port, (home or data_dir) / "tansu.log")
