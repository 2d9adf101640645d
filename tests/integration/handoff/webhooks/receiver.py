"""A real HTTP receiver for the webhook tests: a small asyncio HTTP/1.1 server that verifies every
request with the official `standardwebhooks` package, as a CRM's receiver would, and answers from a
script (a status, a status with Retry-After, a hang past the sender's timeout, a connection reset)."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import orjson
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: str  # what the script did: "200", "500", "429", "hang", "reset"

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def envelope(self) -> dict:  # type: ignore[type-arg]
        return orjson.loads(self.body)  # type: ignore[no-any-return]

    def verifies_with(self, secret: str) -> bool:
        try:
            Webhook(secret).verify(self.body, self.headers)
        except WebhookVerificationError:
            return False
        return True


@dataclass
class Receiver:
    """`script` is consumed one answer per request; once empty every request gets `default`."""

    script: list[str] = field(default_factory=list)
    default: str = "200"
    delay_s: float = 0.0  # before each answer: keeps deliveries in flight
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.answered.startswith("2")]

    def accepted_ids(self) -> list[str]:
        """webhook-ids in the order the receiver first accepted them (a de-duplicating receiver's view)."""
        return list(dict.fromkeys(r.webhook_id for r in self.accepted()))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            action = self.script.pop(0) if self.script else self.default
            self.received.append(Received(headers, body, action))
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if action == "hang":
                await asyncio.sleep(30)  # past the sender's timeout: it gives up and retries
                return
            if action == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            status, _, retry_after = action.partition(":")
            extra = f"retry-after: {retry_after}\r\n" if retry_after else ""
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\n{extra}connection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def running_receiver(receiver: Receiver) -> AsyncIterator[Receiver]:
    server = await asyncio.start_server(receiver._handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/hooks/leadstate"
    try:
        yield receiver
    finally:
        server.close()
        # connections still hanging are cut, not waited for
        for task in asyncio.all_tasks():
            if task.get_coro().__qualname__.startswith("Receiver._handle"):  # type: ignore[union-attr]
                task.cancel()
