"""Key checks shared by ingest (write keys) and handoff (API keys with scopes)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable


def find_key(presented: str, valid: Iterable[str]) -> str | None:
    """The valid key equal to `presented`, compared in constant time against every key."""
    found = None
    given = presented.encode()
    for key in valid:
        if hmac.compare_digest(given, key.encode()):
            found = key
    return found


def generate_key(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"
