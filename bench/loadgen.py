"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams.

httpx costs ~1 ms of client CPU per request; on a 2-core machine shared with the service under test
that would be measured as the service's slowness. Requests are pre-encoded bytes, responses are read
by Content-Length (or chunked), so the client's cost per request is a few microseconds.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class HttpError(Exception):
    pass


def basic_auth(username: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def encode_request(method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """The status and (lower-cased) headers of a response head, which ends with CRLF CRLF."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1."):
        raise HttpError(f"not an HTTP/1.x response: {lines[0][:80]!r}")
    status = int(rest[:3])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    status, headers = parse_head(await reader.readuntil(b"\r\n\r\n"))
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = b""
    return status, headers, body


class Connection:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):
            if self._streams is None:
                self._streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self._streams
            try:
                writer.write(request)
                status, headers, body = await read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
                continue
            if headers.get("connection", "").lower() == "close":
                await self.close()
            return status, headers, body
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass


@dataclass
class LoadResult:
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def closed_loop(url: str, requests: Sequence[bytes], *, clients: int, duration_s: float) -> LoadResult:
    """`clients` connections each sending the next request as soon as the last was answered."""
    result = LoadResult()
    deadline = time.perf_counter() + duration_s
    counter = iter(range(1 << 62))

    async def client() -> None:
        conn = Connection(url)
        try:
            while time.perf_counter() < deadline:
                request = requests[next(counter) % len(requests)]
                sent = time.perf_counter()
                try:
                    status, _, _ = await conn.send(request)
                except (OSError, asyncio.IncompleteReadError, HttpError) as exc:
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(0.05)
                    continue
                result.latencies_s.append(time.perf_counter() - sent)
                result.count(status)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.elapsed_s = time.perf_counter() - started
    return result


async def paced(
    url: str,
    requests: Sequence[bytes],
    *,
    per_s: float,
    clients: int,
    on_sent: Callable[[int, float], None] | None = None,
) -> LoadResult:
    """Send requests[i] at start + i/per_s (open loop: a slow answer does not slow the schedule, it
    queues), over up to `clients` connections; on_sent(i, wall_time) is called as each is written."""
    result = LoadResult()
    queue: asyncio.Queue[int | None] = asyncio.Queue()

    async def client() -> None:
        conn = Connection(url)
        try:
            while (i := await queue.get()) is not None:
                sent = time.perf_counter()
                if on_sent is not None:
                    on_sent(i, time.time())
                try:
                    status, _, _ = await conn.send(requests[i])
                except (OSError, asyncio.IncompleteReadError, HttpError) as exc:
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                result.latencies_s.append(time.perf_counter() - sent)
                result.count(status)
        finally:
            await conn.close()

    workers = [asyncio.create_task(client()) for _ in range(clients)]
    started = time.perf_counter()
    for i in range(len(requests)):
        delay = started + i / per_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(i)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    result.elapsed_s = time.perf_counter() - started
    return result
