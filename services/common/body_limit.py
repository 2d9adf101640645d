"""Request bodies read never further than a limit: refused up front on Content-Length, else counted on
the raw stream, so an oversized body is never buffered whole nor parsed. One 413 wording for every
service (ingest's tracking calls, the handoff's middleware)."""

from __future__ import annotations

from collections.abc import AsyncIterable

from .problems import Problem


def body_too_large(limit: int) -> Problem:
    return Problem(
        413,
        f"the request body is larger than {limit} bytes; nothing was stored",
        errors=[{"field": "body", "message": f"at most {limit} bytes"}],
    )


def check_declared(content_length: str | None, limit: int) -> None:
    """A Problem for a Content-Length that is not a number (400) or over the limit (413)."""
    if content_length is None:
        return
    if not content_length.isdigit():
        message = "Content-Length is not a number"
        raise Problem(400, message, errors=[{"field": "Content-Length", "message": message}])
    if int(content_length) > limit:
        raise body_too_large(limit)


async def read_capped(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    """The whole body, or the 413 Problem as soon as the running count passes the limit."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        parts.append(chunk)
    return b"".join(parts)
