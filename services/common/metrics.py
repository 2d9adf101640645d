"""Prometheus metrics shared by every service (one process per service, so the default registry)."""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response

DEAD_LETTERS = Counter(
    "leadstate_dead_letters_total", "Messages sent to the dead-letter topic", ["consumer", "topic"]
)
CONSUMED = Counter("leadstate_consumed_total", "Envelopes processed by a consumer", ["consumer", "topic"])
DUPLICATES = Counter("leadstate_duplicates_total", "Redelivered envelopes skipped by id", ["consumer"])
BATCH_SECONDS = Histogram("leadstate_consumer_batch_seconds", "Time to process one batch", ["consumer"])
BATCH_RETRIES = Counter("leadstate_consumer_retries_total", "Batches retried after an error", ["consumer"])
REBALANCES = Counter(
    "leadstate_consumer_rebalances_total", "Partition assignments received from the group", ["consumer"]
)
ASSIGNED_PARTITIONS = Gauge(
    "leadstate_consumer_assigned_partitions", "Partitions this member holds now", ["consumer"]
)
OUTBOX_PUBLISHED = Counter("leadstate_outbox_published_total", "Outbox rows published", ["outbox"])
OUTBOX_PENDING = Gauge(
    "leadstate_outbox_pending", "Outbox rows seen unsent at the last relay pass", ["outbox"]
)
# The collector's time per generation: prometheus_client counts collections, not how long they take, and
# a process holding many objects (the qualifier's cache) can spend a growing share of its time in them.
GC_SECONDS = Counter("leadstate_gc_seconds", "Time in Python's cyclic garbage collector", ["generation"])
_gc_started: list[float] = []


def _time_collections(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_started[:] = [time.perf_counter()]
    elif _gc_started:
        GC_SECONDS.labels(str(info.get("generation", "?"))).inc(time.perf_counter() - _gc_started.pop())


if _time_collections not in gc.callbacks:
    gc.callbacks.append(_time_collections)


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
