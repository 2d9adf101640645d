"""Reading a tracking request's body: content type, size limits, gzip, JSON.

Sizes are enforced by services/common/body_limit.py on the raw stream, and again on the inflated gzip.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from starlette.requests import Request

from services.common.body_limit import body_too_large, check_declared, read_capped
from services.common.problems import Problem

# analytics.js posts JSON as text/plain so that browsers skip the CORS preflight.
_JSON_MEDIA_TYPES = ("application/json", "text/plain")


async def read_json_object(request: Request, *, limit: int) -> dict[str, Any]:
    """The body as a JSON object, or a Problem: 400 (type, encoding, JSON) or 413 (over `limit`)."""
    _check_content_type(request.headers.get("content-type"))
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise Problem(
            400,
            f"Content-Encoding {encoding[:40]!r} is not supported; use gzip or none",
            errors=[{"field": "Content-Encoding", "message": "must be gzip or absent"}],
        )
    check_declared(request.headers.get("content-length"), limit)
    raw = await read_capped(request.stream(), limit)
    if encoding == "gzip":
        raw = _gunzip_capped(raw, limit)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(
            400, f"the body is not valid JSON: {exc}", errors=[{"field": "body", "message": "invalid JSON"}]
        ) from None
    if not isinstance(doc, dict):
        raise Problem(
            400, "the body must be a JSON object", errors=[{"field": "body", "message": "not an object"}]
        )
    return doc


def _check_content_type(header: str | None) -> None:
    if header is None:  # curl --data-binary and some server SDKs send none; the body decides
        return
    media_type = header.partition(";")[0].strip().lower()
    if media_type not in _JSON_MEDIA_TYPES:
        raise Problem(
            400,
            f"Content-Type {media_type[:60]!r} is not supported; send application/json",
            errors=[{"field": "Content-Type", "message": "must be application/json (or text/plain)"}],
        )


def _gunzip_capped(raw: bytes, limit: int) -> bytes:
    # A few KB of gzip can inflate to gigabytes: never inflate more than the limit allows.
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise Problem(
            400, "the body is not valid gzip", errors=[{"field": "body", "message": "invalid gzip"}]
        ) from None
    if len(out) > limit:
        raise body_too_large(limit)
    return out
