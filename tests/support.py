"""Helpers the tests share: an in-process uvicorn server, topic readers; free ports and service processes
come from testbed/, which the benchmarks use too."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

from services.common.envelope import Envelope, parse_envelope
from services.common.kafka import make_producer
from services.common.runtime import KEEP_ALIVE_S
from testbed import ServiceProcess, free_port

__all__ = ["ServiceProcess", "free_port"]  # with the helpers below; tests import them from here

ROOT = Path(__file__).resolve().parents[1]


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout_s`."""
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_until(
    check: Callable[[], Awaitable[object]], *, timeout_s: float = 20, what: str = "condition"
) -> object:
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last value: {last!r})")


@asynccontextmanager
async def serve_app(app: FastAPI) -> AsyncIterator[str]:
    """Run the app on a real socket with its lifespan, in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            proxy_headers=False,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """The app on a thread of its own, ready: a synchronous test (hypothesis, schemathesis) drives it."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            proxy_headers=False,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        while not server.started:
            time.sleep(0.02)
        while httpx.get(f"{url}/readyz").status_code != 200:
            time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join()


async def wait_ready(base_url: str, timeout_s: float = 30) -> None:
    async with httpx.AsyncClient() as client:

        async def ready() -> bool:
            try:
                return (await client.get(f"{base_url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(ready, timeout_s=timeout_s, what=f"{base_url}/readyz")


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout_s: float = 20) -> list[bytes]:
    """Read a topic from the beginning until `expect` messages arrived (or fail naming how many did)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    values: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(values) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            values.extend(r.value for rs in batch.values() for r in rs)
        # a short extra poll so that "more than expected" is seen too
        batch = await consumer.getmany(timeout_ms=300)
        values.extend(r.value for rs in batch.values() for r in rs)
    finally:
        await consumer.stop()
    if len(values) < expect:
        raise AssertionError(f"expected {expect} messages on {topic}, got {len(values)}")
    return values


async def read_envelopes(bootstrap: str, topic: str, *, expect: int, timeout_s: float = 20) -> list[Envelope]:
    return [parse_envelope(v) for v in await read_topic(bootstrap, topic, expect=expect, timeout_s=timeout_s)]


@asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = make_producer(bootstrap)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def publish(
    bootstrap: str, topic: str, envelopes: list[Envelope | bytes], raw_key: bytes | None = None
) -> None:
    """Publish in order; raw bytes (poison messages) go with `raw_key`, envelopes with their subject."""
    async with producer(bootstrap) as p:
        for e in envelopes:
            if isinstance(e, bytes):
                await p.send_and_wait(topic, e, key=raw_key)
            else:
                await p.send_and_wait(topic, e.to_bytes(), key=e.key())
