"""Who may post, and how often: write keys (Basic username or `writeKey` in the body) and a per-key
token bucket."""

from __future__ import annotations

import base64
import binascii
import math
import time
from collections.abc import Callable, Iterable

from services.common.auth import find_key
from services.common.problems import Problem

_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Basic realm="leadstate ingest"'}


def basic_username(authorization: str | None) -> str | None:
    """The write key of `Authorization: Basic base64(key:)`; None when there is no Basic header.
    A malformed one is refused rather than ignored, so a broken client learns it at once."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise unauthorized("the Authorization header is not valid Basic credentials") from None
    return decoded.partition(":")[0]


def check_write_key(presented: object, valid: Iterable[str]) -> str:
    if not isinstance(presented, str) or not presented:
        raise unauthorized("a write key is required: HTTP Basic username, or writeKey in the body")
    key = find_key(presented, valid)
    if key is None:
        raise unauthorized("unknown write key")
    return key


def unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers=_UNAUTHORIZED_HEADERS)


class RateLimiter:
    """Requests per second per write key, with a burst of one second's worth. In-process: with N ingest
    replicas the effective limit is N times the setting."""

    def __init__(self, per_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_s, self.clock = per_s, clock
        self.capacity = max(1.0, per_s)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def wait_s(self, key: str) -> float:
        """0 and one token taken when the request may go ahead; otherwise seconds until it may."""
        if self.per_s <= 0:
            return 0.0
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.per_s)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.per_s

    def check(self, key: str) -> None:
        wait = self.wait_s(key)
        if wait > 0:
            seconds = str(max(1, math.ceil(wait)))
            raise Problem(
                429,
                f"over {self.per_s:g} requests per second for this write key; retry later",
                headers={"Retry-After": seconds, "X-RateLimit-Reset": seconds},
            )
