"""Which broker kinds the test session runs on: Apache Kafka when Java 17+ is on the PATH and its jars
are cached or can be fetched, and Tansu; LEADSTATE_TEST_BROKERS narrows that down."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.common.broker_choice import kafka_unavailable
from services.common.kafka_dist import kafka_version

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BrokerKinds:
    kinds: tuple[str, ...]
    kafka_cache: Path
    kafka_home: Path | None
    why_no_kafka: str | None

    @classmethod
    def detect(cls) -> BrokerKinds:
        wanted = [k.strip() for k in os.environ.get("LEADSTATE_TEST_BROKERS", "kafka,tansu").split(",")]
        home = os.environ.get("LEADSTATE_KAFKA_HOME")
        kafka_home = Path(home) if home else None
        cache = Path(os.environ.get("LEADSTATE_DATA_DIR") or REPO / ".leadstate").resolve()
        why_not = None
        if "kafka" in wanted:
            why_not = kafka_unavailable(kafka_home, cache, say=lambda line: print(line, flush=True))
        if os.environ.get("LEADSTATE_KAFKA_BOOTSTRAP"):
            wanted = ["external"]
        kinds = tuple(k for k in wanted if k in ("tansu", "external") or (k == "kafka" and why_not is None))
        return cls(kinds, cache, kafka_home, why_not)

    def header(self) -> str:
        if "external" in self.kinds:
            return f"brokers: the external one at {os.environ['LEADSTATE_KAFKA_BOOTSTRAP']}"
        line = "brokers: " + ", ".join(
            f"kafka (embedded Apache Kafka {kafka_version()})"
            if k == "kafka"
            else "tansu (embedded, memory only)"
            for k in self.kinds
        )
        if self.why_no_kafka:
            line += f"; NOT Apache Kafka: {self.why_no_kafka}"
        return line

    def kafka_home_env(self) -> dict[str, str]:
        """LEADSTATE_KAFKA_HOME naming the jars this session found, for a `leadstate dev` of a test."""
        if "kafka" not in self.kinds:
            return {}
        home = self.kafka_home or self.kafka_cache / f"apache-kafka-{kafka_version()}"
        return {"LEADSTATE_KAFKA_HOME": str(home)}
