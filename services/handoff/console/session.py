"""The console's session: a signed cookie naming the API key (by its hash, never the key itself), the
user's name for the decisions they record, a CSRF token and when it was issued.

The signing secret is derived from the configured API keys, like the inbox cursor's: the same on every
instance, and every session ends when the keys rotate. A key removed from LEADSTATE_API_KEYS ends its
sessions at once, because each request looks the key up again by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from services.common.auth import key_id

from ..identity import Flow

COOKIE = "leadstate_console"
MAX_AGE_S = 12 * 3600  # a working day; then log in again
# Before there is a session, the login form's CSRF token travels in a cookie of its own (double submit,
# signed, so a sibling site cannot plant one): a page elsewhere cannot log a browser into its own key.
LOGIN_COOKIE = "leadstate_console_login"
LOGIN_MAX_AGE_S = 3600
# Single sign-on: between leaving for the identity provider and coming back, this browser keeps what ties
# the answer to its own request (state, nonce, PKCE verifier, where to go) in a signed cookie of its own.
# SameSite=Lax, unlike the others: the provider's redirect back is a cross-site navigation.
FLOW_COOKIE = "leadstate_console_oidc"
FLOW_MAX_AGE_S = 600


@dataclass(frozen=True, kw_only=True)
class ConsoleSession:
    key_id: str  # sha256 of the API key, as the API's Caller.key_id
    name: str  # who decides: recorded as `decided_by`
    csrf: str
    issued_at: int  # unix seconds
    # A person's session: its id names the server-side row (accounts.py) that can be revoked at once;
    # then key_id is "user:<user id>" and name their email.
    sid: str | None = None

    @classmethod
    def start(cls, key: str, name: str, now: float) -> ConsoleSession:
        return cls(key_id=key_id(key), name=name, csrf=secrets.token_urlsafe(24), issued_at=int(now))

    @classmethod
    def for_person(cls, user_id: str, email: str, sid: str, now: float) -> ConsoleSession:
        return cls(
            key_id=f"user:{user_id}", name=email, csrf=secrets.token_urlsafe(24), issued_at=int(now), sid=sid
        )


class SessionSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()

    def dump(self, session: ConsoleSession) -> str:
        doc = {"k": session.key_id, "n": session.name, "c": session.csrf, "t": session.issued_at}
        return self._signed(doc if session.sid is None else {**doc, "s": session.sid})

    def load(self, value: str, now: float) -> ConsoleSession | None:
        """The session, or None if the cookie is not one we signed or it has expired."""
        doc = self._verified(value)
        if doc is None or not {"k", "n", "c", "t"} <= doc.keys():
            return None
        session = ConsoleSession(
            key_id=str(doc["k"]),
            name=str(doc["n"]),
            csrf=str(doc["c"]),
            issued_at=int(doc["t"]),
            sid=str(doc["s"]) if "s" in doc else None,
        )
        if not 0 <= now - session.issued_at < MAX_AGE_S:
            return None
        return session

    def dump_login_token(self, token: str, now: float) -> str:
        return self._signed({"login": token, "t": int(now)})

    def load_login_token(self, value: str, now: float) -> str | None:
        doc = self._verified(value)
        if doc is None or not {"login", "t"} <= doc.keys() or not 0 <= now - int(doc["t"]) < LOGIN_MAX_AGE_S:
            return None
        return str(doc["login"])

    def dump_flow(self, flow: Flow, now: float) -> str:
        return self._signed({"oidc": [flow.state, flow.nonce, flow.verifier, flow.next], "t": int(now)})

    def load_flow(self, value: str, now: float) -> Flow | None:
        doc = self._verified(value)
        if doc is None or not {"oidc", "t"} <= doc.keys() or not 0 <= now - int(doc["t"]) < FLOW_MAX_AGE_S:
            return None
        parts = doc["oidc"]
        if not isinstance(parts, list) or len(parts) != 4 or not all(isinstance(p, str) for p in parts):
            return None
        return Flow(*parts)

    def _signed(self, doc: dict[str, Any]) -> str:
        body = orjson.dumps(doc)
        return f"{_b64(body)}.{_b64(self._sign(body))}"

    def _verified(self, value: str) -> dict[str, Any] | None:
        body_part, _, sig_part = value.partition(".")
        try:
            body, signature = _unb64(body_part), _unb64(sig_part)
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        doc = orjson.loads(body)
        return doc if isinstance(doc, dict) else None


def signer_for_keys(api_keys: dict[str, tuple[str, ...]]) -> SessionSigner:
    material = orjson.dumps(sorted(api_keys))
    return SessionSigner(hashlib.sha256(b"leadstate-handoff-console\0" + material).digest())


def csrf_matches(session: ConsoleSession, presented: str) -> bool:
    return hmac.compare_digest(session.csrf.encode(), presented.encode())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or len(text) > 4096:
        raise ValueError("bad length")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None
