"""Refuse oversized request bodies (413) before anything parses them: a pure ASGI middleware.

The handoff's bodies are small decisions, so the body is read here up to the limit (by Content-Length
up front, and by a running count for chunked uploads, both from services/common/body_limit.py) and handed
on whole. A path may have a larger limit of its own (a candidate policy for the lab is up to a policy's
maximum size).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .body_limit import check_declared, read_capped
from .problems import Problem, problem_response


class _Disconnected(Exception):
    pass


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app, self.max_bytes, self.larger = app, max_bytes, dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        try:
            check_declared(declared.decode("latin-1") if declared is not None else None, limit)
            body = await read_capped(_chunks(receive), limit)
        except _Disconnected:
            return
        except Problem as exc:
            response = problem_response(exc.status, exc.detail, errors=exc.errors, instance=scope.get("path"))
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
