"""The three services as processes (as compose runs them): a tracked event reaches the qualifier's tables."""

from __future__ import annotations

import asyncio
import re
import signal
import uuid
from pathlib import Path

import httpx
import pytest

from services.common.db import connect
from tests.conftest import WRITE_KEY
from tests.support import ServiceProcess, free_port, wait_ready, wait_until

pytestmark = pytest.mark.e2e


async def a_connection_idle_for(seconds: float, port: int) -> list[int]:
    """Two requests on one keep-alive connection, `seconds` apart: the status of each."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    statuses = []
    try:
        for pause in (0.0, seconds):
            await asyncio.sleep(pause)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: leadstate\r\n\r\n")
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            statuses.append(int(head.split(b" ", 2)[1]))
    except (asyncio.IncompleteReadError, ConnectionError):
        statuses.append(0)  # the service closed the idle connection
    finally:
        writer.close()
    return statuses


async def test_track_reaches_qualifier_tables(env: dict[str, str], database_url: str, tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("ingest", "qualifier", "handoff")}
    env = {**env, **{f"LEADSTATE_{name.upper()}_PORT": str(port) for name, port in ports.items()}}
    services = [ServiceProcess(name, env, tmp_path).start() for name in ports]
    try:
        for port in ports.values():
            await wait_ready(f"http://127.0.0.1:{port}", timeout_s=60)
        idle = asyncio.create_task(a_connection_idle_for(6.0, ports["handoff"]))
        message_id = str(uuid.uuid4())
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"http://127.0.0.1:{ports['ingest']}/v1/track",
                auth=(WRITE_KEY, ""),
                json={"userId": "e2e-user", "event": "Seminar Attended", "messageId": message_id},
            )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"success": True}

        conn = await connect(database_url)
        try:
            row = await wait_until(
                lambda: conn.fetchrow(
                    "SELECT lead_id, name FROM qualifier.events WHERE event_id = $1", message_id
                ),
                timeout_s=30,
                what="the event in qualifier.events",
            )
            assert row["name"] == "Seminar Attended"
            assert (
                await conn.fetchval("SELECT count(*) FROM qualifier.leads WHERE lead_id = $1", row["lead_id"])
                == 1
            )
        finally:
            await conn.close()
        # past uvicorn's default of 5 s: a proxy reusing its idle connection must not find it closing
        assert await idle == [200, 200]
    finally:
        codes = {s.command: s.stop(signal.SIGTERM) for s in services}
    assert codes == {"ingest": 0, "qualifier": 0, "handoff": 0}, [s.log()[-2000:] for s in services]
