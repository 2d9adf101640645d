"""Key checks shared by ingest (write keys) and handoff (API keys with scopes).

A configured key is either the key itself or `sha256:<hex digest of the key>`, so a deployment's
configuration need not hold the secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

HASHED = "sha256:"


def find_key(presented: str, valid: Iterable[str]) -> str | None:
    """The configured key (plain or hashed) matching `presented`, compared in constant time against all."""
    found = None
    given = presented.encode()
    digest = hashlib.sha256(given).hexdigest().encode()
    for key in valid:
        if key.startswith(HASHED):
            if hmac.compare_digest(digest, key[len(HASHED) :].lower().encode()):
                found = key
        elif hmac.compare_digest(given, key.encode()):
            found = key
    return found


def key_id(configured: str) -> str:
    """The sha256 of a key, the same whether it is configured plain or hashed: safe to store and log."""
    if configured.startswith(HASHED):
        return configured[len(HASHED) :].lower()
    return hashlib.sha256(configured.encode()).hexdigest()


def generate_key(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"
