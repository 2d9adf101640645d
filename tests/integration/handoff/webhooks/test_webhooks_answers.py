"""What the sender does with a receiver's answer, against raw receivers that misbehave on purpose: a
redirect is a final failure and its Location is never requested; an answer whose body never ends is not
read past the cap (the delivery is recorded as delivered instead of timing out); both through the
dispatcher and through POST /v1/webhooks/{id}/test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from tests.integration.handoff.data import mql_envelope
from tests.integration.handoff.webhooks.conftest import HooksFactory
from tests.support import publish

Answer = Callable[[asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_receiver(answer: Answer, requests: list[bytes]) -> AsyncIterator[str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            await reader.readexactly(length)
            requests.append(head)
            await answer(writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks"
    finally:
        server.close()


def redirect_to(location: str) -> Answer:
    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n".encode())
        await writer.drain()

    return answer


async def endless_body(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    chunk = b"x" * 1024
    while True:  # until the sender hangs up: a reader without a cap would time out instead
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        await asyncio.sleep(0.01)


async def test_a_redirect_is_final_and_never_followed(hooks_app: HooksFactory) -> None:
    elsewhere: list[bytes] = []
    asked: list[bytes] = []
    async with (
        raw_receiver(redirect_to("about:blank"), elsewhere) as target,
        raw_receiver(redirect_to(target), asked) as url,
        hooks_app(webhook_allow_private=True) as hooks,
    ):
        endpoint = await hooks.register(url)
        tested = (await hooks.client.post(f"/v1/webhooks/{endpoint['id']}/test")).json()
        assert tested["delivered"] is False and tested["status_code"] == 302
        assert "redirects are not followed" in tested["error"]
        await publish(hooks.bootstrap, hooks.topics.mql, [mql_envelope("lead-r1")])
        [row] = [r for r in await hooks.wait_finished(endpoint["id"], 2) if r["event_type"] == "lead.mql"]
    assert row["status"] == "failed" and row["attempts"] == 1 and row["last_status_code"] == 302
    assert len(asked) == 2 and elsewhere == []  # the Location was never requested


async def test_an_answer_that_never_ends_is_not_read_past_the_cap(hooks_app: HooksFactory) -> None:
    asked: list[bytes] = []
    async with (
        raw_receiver(endless_body, asked) as url,
        hooks_app(webhook_allow_private=True, webhook_timeout_s=5) as hooks,
    ):
        endpoint = await hooks.register(url)
        tested = (await hooks.client.post(f"/v1/webhooks/{endpoint['id']}/test")).json()
        assert tested["delivered"] is True and tested["status_code"] == 200 and tested["error"] is None
        await publish(hooks.bootstrap, hooks.topics.mql, [mql_envelope("lead-r2")])
        [row] = [r for r in await hooks.wait_finished(endpoint["id"], 2) if r["event_type"] == "lead.mql"]
    assert row["status"] == "delivered" and row["attempts"] == 1
