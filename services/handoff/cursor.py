"""Opaque, tamper-evident page cursors for the inbox: a position (qualified_at, mql_id), signed.

The signature binds the cursor to the order and filters it was issued for, so a cursor edited by hand
or replayed with other filters is refused (400) instead of silently paging somewhere else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import orjson


class CursorError(ValueError):
    pass


@dataclass(frozen=True)
class Position:
    qualified_at: datetime
    mql_id: str


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, body: bytes, scope: str) -> bytes:
        return hmac.new(self._secret, body + b"\0" + scope.encode(), hashlib.sha256).digest()[:16]

    def encode(self, position: Position, scope: str) -> str:
        body = orjson.dumps({"t": position.qualified_at.isoformat(), "m": position.mql_id})
        return f"{_b64(body)}.{_b64(self._sign(body, scope))}"

    def decode(self, cursor: str, scope: str) -> Position:
        body_part, dot, sig_part = cursor.partition(".")
        try:
            body, signature = _unb64(body_part), _unb64(sig_part)
        except ValueError:
            raise CursorError("not a cursor this API issued") from None
        if not dot or not hmac.compare_digest(signature, self._sign(body, scope)):
            raise CursorError("not a cursor this API issued for this order and these filters")
        try:
            doc = orjson.loads(body)
            return Position(datetime.fromisoformat(doc["t"]), str(doc["m"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise CursorError("not a cursor this API issued") from None


def codec_for_keys(api_keys: dict[str, tuple[str, ...]]) -> CursorCodec:
    """Derived from the configured API keys: the same on every instance, new when the keys rotate."""
    material = orjson.dumps(sorted(api_keys), option=orjson.OPT_SORT_KEYS)
    return CursorCodec(hashlib.sha256(b"leadstate-handoff-cursor\0" + material).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or len(text) > 2048:
        raise ValueError("bad length")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None
