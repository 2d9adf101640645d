"""Segment's own Python library, pointed at ingest, works unchanged (it posts /v1/batch with Basic auth,
writeKey in the body and sentAt)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from segment.analytics import Client
from segment.analytics.request import APIError

from tests.conftest import WRITE_KEY, Topics
from tests.support import read_envelopes


def _send_with_segment(host: str, write_key: str, *, gzip: bool = False) -> None:
    client = Client(write_key=write_key, host=host, sync_mode=True, gzip=gzip, max_retries=0)
    client.identify("lead-7", {"email": "lead7@example.com", "company": "Acme", "title": "CTO"})
    client.track("lead-7", "Content Downloaded", {"asset_id": "wp-kafka", "topic": "streaming"})
    client.page(anonymous_id="cookie-7", name="Pricing", properties={"url": "https://x.test/pricing"})
    client.track(anonymous_id="cookie-7", event="Seminar Registered", properties={"seminar_id": "s-1"})
    client.group("lead-7", "acme", {"industry": "software"})
    client.alias("cookie-7", "lead-7")
    client.screen("lead-7", name="Dashboard")


async def test_segment_python_client_events_reach_the_topic(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    host = str(ingest.base_url).rstrip("/")
    # The library is synchronous: run it off the event loop that serves ingest.
    await asyncio.to_thread(_send_with_segment, host, WRITE_KEY)
    await asyncio.to_thread(_send_with_segment, host, WRITE_KEY, gzip=True)

    envelopes = await read_envelopes(kafka_bootstrap, topics.events, expect=14)
    assert len(envelopes) == 14
    assert sorted({e.type for e in envelopes}) == [
        f"leadstate.{kind}.v1" for kind in ("alias", "group", "identify", "page", "screen", "track")
    ]
    downloads = [e for e in envelopes if e.data.get("event") == "Content Downloaded"]
    assert downloads[0].subject == "lead-7"
    assert downloads[0].data["properties"] == {"asset_id": "wp-kafka", "topic": "streaming"}
    assert downloads[0].data["context"]["library"]["name"] == "analytics-python"
    assert all(e.id == e.data["messageId"] and "writeKey" not in e.data for e in envelopes)


async def test_segment_python_client_sees_a_wrong_key_refused(ingest: httpx.AsyncClient) -> None:
    host = str(ingest.base_url).rstrip("/")
    with pytest.raises(APIError) as refused:
        await asyncio.to_thread(_send_with_segment, host, "wk_not_a_key")
    assert refused.value.status == 401
