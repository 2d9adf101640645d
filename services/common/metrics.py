"""Prometheus metrics shared by every service (one process per service, so the default registry)."""

from __future__ import annotations

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


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
