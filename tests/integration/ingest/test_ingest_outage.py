"""Broker down: 503 with Retry-After and nothing acknowledged; broker back: 200 again, no restart."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from services.common.embedded import Broker
from services.common.kafka import ensure_topics
from services.common.settings import Settings
from services.ingest.app import create_app
from tests.conftest import WRITE_KEY
from tests.support import read_envelopes, serve_app, wait_ready, wait_until


async def test_broker_outage_then_recovery(settings: Settings, broker_factory: Callable[..., Broker]) -> None:
    broker = broker_factory()
    broker.start()
    await ensure_topics(broker.bootstrap, [settings.topic_events], partitions=1)
    own = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap, "produce_timeout_s": 1.0})

    async with serve_app(create_app(own)) as url:
        await wait_ready(url)
        async with httpx.AsyncClient(base_url=url, auth=(WRITE_KEY, ""), timeout=30) as client:

            async def post(message_id: str) -> httpx.Response:
                body = {"userId": "u-o", "event": "Seminar Attended", "messageId": message_id}
                return await client.post("/v1/track", json=body)

            assert (await post("before")).status_code == 200

            broker.stop()
            answer = await post("during")
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert int(answer.headers["retry-after"]) > 0
            assert (await client.get("/readyz")).status_code == 503

            broker.start()  # same port, empty (the embedded broker keeps topics in memory)
            await ensure_topics(broker.bootstrap, [settings.topic_events], partitions=1)

            async def stored_again() -> bool:
                return (await post("after")).status_code == 200

            await wait_until(
                stored_again, timeout_s=60, what="ingest to answer 200 after the broker came back"
            )

    envelopes = await read_envelopes(broker.bootstrap, settings.topic_events, expect=1)
    assert "after" in {e.id for e in envelopes}
