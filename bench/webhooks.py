"""Webhook delivery: a local receiver answering every request after 20 ms, the handoff process (with its
dispatcher) started on a fresh database, MQL envelopes published straight to `lead.mql`.

Two phases: a steady pace (latency from the produce to the receiver's read of the request, p50/p99)
and a burst of events for distinct leads (deliveries/s from the first to the last accepted one).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from services.common.db import connect
from services.common.envelope import Envelope, new_envelope
from services.common.kafka import make_producer

from .infra import API_KEY, Infra
from .report import Outcome, percentile_ms, table

ANSWER_AFTER_S = 0.020


class Receiver:
    """A raw asyncio HTTP/1.1 server on its own thread: records when each webhook-id first arrived."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}
        self.requests = 0
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = time.time()
                headers = dict(
                    line.split(":", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ":" in line
                )
                headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests += 1
                self.first_seen.setdefault(headers.get("webhook-id", ""), arrived)
                await asyncio.sleep(ANSWER_AFTER_S)
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # cancelled: the receiver is shutting down
        finally:
            writer.close()

    def _run(self) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()
            server.close()

        asyncio.run(main())

    def start(self) -> Receiver:
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)


def mql(lead_id: str) -> Envelope:
    now = datetime.now(UTC)
    data: dict[str, Any] = {
        "mql_id": f"{lead_id}:1",
        "lead_id": lead_id,
        "episode": 1,
        "identities": {"user_id": lead_id, "email": f"{lead_id}@example.com", "anonymous_ids": []},
        "attributes": {"industry": "software", "title": "Manager", "company_size": 120},
        "policy_version": "bench",
        "rule": {"name": "bench", "description": "benchmark"},
        "reasons": [{"text": "benchmark", "evidence": []}],
        "score": {"value": 30.0, "components": {}},
        "interests": [],
        "next_checks": [],
        "qualified_at": now.isoformat(),
    }
    return new_envelope(
        "leadstate.lead.mql.v1", data, source="qualifier", subject=lead_id, time=now, id_=str(uuid.uuid4())
    )


async def _publish(
    bootstrap: str, topic: str, envelopes: list[Envelope], rate: float | None
) -> dict[str, float]:
    """Produce the envelopes (paced at `rate` per second, or all at once); returns the ack time per id."""
    producer = make_producer(bootstrap)
    await producer.start()
    sent: dict[str, float] = {}
    try:
        started = time.monotonic()
        for i, envelope in enumerate(envelopes):
            if rate:
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            sent[envelope.id] = time.time()
            await producer.send(topic, envelope.to_bytes(), key=envelope.key())
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def _queued_at(database_url: str) -> dict[str, float]:
    """When each delivery row was written (the dispatcher's consumer committed it)."""
    conn = await connect(database_url)
    try:
        rows = await conn.fetch("SELECT event_id, created_at FROM handoff.webhook_deliveries")
    finally:
        await conn.close()
    return {r["event_id"]: r["created_at"].timestamp() for r in rows}


def _wait_for(receiver: Receiver, ids: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(i in receiver.first_seen for i in ids):
            return
        time.sleep(0.05)
    missing = sum(i not in receiver.first_seen for i in ids)
    raise RuntimeError(f"{missing} of {len(ids)} webhooks not received within {timeout_s:.0f}s")


def run(infra: Infra, *, quick: bool) -> Outcome:
    paced_n, rate, burst_n = (300, 50.0, 1000) if quick else (1000, 100.0, 5000)
    topics = infra.fresh_topics("webhooks")
    env = infra.service_env(infra.fresh_database(), topics)
    env["LEADSTATE_API_KEYS"] = json.dumps({API_KEY: ["webhooks:admin"]})
    env["LEADSTATE_WEBHOOK_ALLOW_PRIVATE"] = "true"
    receiver = Receiver().start()
    try:
        service = infra.service("handoff", env)
        created = httpx.post(
            f"{service.base_url}/v1/webhooks",
            json={"url": f"http://127.0.0.1:{receiver.port}/hook", "events": ["lead.mql"]},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        created.raise_for_status()
        paced = [mql(f"paced-{i}") for i in range(paced_n)]
        sent = asyncio.run(_publish(infra.bootstrap, topics.mql, paced, rate))
        _wait_for(receiver, list(sent), 120)
        latencies = [receiver.first_seen[i] - t for i, t in sent.items()]
        queued = asyncio.run(_queued_at(env["LEADSTATE_DATABASE_URL"]))
        fan_out = [queued[i] - t for i, t in sent.items() if i in queued]
        burst = [mql(f"burst-{i}") for i in range(burst_n)]
        cpu_before = service.cpu_seconds()
        asyncio.run(_publish(infra.bootstrap, topics.mql, burst, None))
        _wait_for(receiver, [e.id for e in burst], 300)
        cpu_ms_per_delivery = (service.cpu_seconds() - cpu_before) * 1000 / burst_n
        seen = sorted(receiver.first_seen[e.id] for e in burst)
        per_s = (len(seen) - 1) / max(seen[-1] - seen[0], 1e-9)
        figures = {
            "event_to_webhook_p50_ms": percentile_ms(latencies, 50),
            "event_to_webhook_p99_ms": percentile_ms(latencies, 99),
            "event_to_row_p50_ms": percentile_ms(fan_out, 50),
            "event_to_row_p99_ms": percentile_ms(fan_out, 99),
            "deliveries_per_s": per_s,
            "handoff_cpu_ms_per_delivery": cpu_ms_per_delivery,
            "requests": receiver.requests,
            "handoff_peak_rss_mb": service.peak_rss / 2**20,
        }
    finally:
        receiver.stop()
    print(
        table(
            [
                (
                    f"paced {rate:.0f}/s x{paced_n}: produce -> delivery row",
                    figures["event_to_row_p50_ms"],
                    figures["event_to_row_p99_ms"],
                    "",
                ),
                (
                    f"paced {rate:.0f}/s x{paced_n}: produce -> receiver",
                    figures["event_to_webhook_p50_ms"],
                    figures["event_to_webhook_p99_ms"],
                    "",
                ),
                (f"burst x{burst_n}, distinct leads", "", "", figures["deliveries_per_s"]),
                ("handoff CPU ms per delivery (burst)", "", "", figures["handoff_cpu_ms_per_delivery"]),
            ],
            ("phase (receiver answers in 20 ms)", "p50 ms", "p99 ms", "deliveries/s"),
        )
    )
    return Outcome("webhooks", metrics=figures)
