"""Behind a reverse proxy: believe its X-Forwarded-For, -Proto and -Host, but only when the connection
comes from an address in LEADSTATE_TRUSTED_PROXIES. Then the audit records the person's address, not the
proxy's, and the console builds its sign-in redirect URI with the public scheme and host.

Anyone else's X-Forwarded-* headers are ignored: a client could otherwise choose the address the audit
records for it, or a sign-in redirect to a host of its choosing. uvicorn's own proxy handling is off
(services/common/runtime.py) so that this is the only place that decides.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_HOPS = 20  # a longer X-Forwarded-For is not a real chain of proxies; only its last hops are read


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...] | None:
    """The networks to trust; None for `*` (any peer: only if nobody but the proxy reaches the port)."""
    entries = tuple(entries)
    if "*" in entries:
        return None
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as exc:
        raise ValueError(f"LEADSTATE_TRUSTED_PROXIES: {exc}") from None


class ForwardedHeaders:
    """ASGI middleware: rewrites the scope's client, scheme and Host from a trusted proxy's headers."""

    def __init__(self, app: Any, trusted: tuple[Network, ...] | None) -> None:
        self.app, self.trusted = app, trusted

    def _trusts(self, host: str | None) -> bool:
        if self.trusted is None:
            return True
        try:
            address = ipaddress.ip_address(host or "")
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and self._trusts((scope.get("client") or (None,))[0]):
            scope = self._forwarded(scope)
        await self.app(scope, receive, send)

    def _forwarded(self, scope: dict[str, Any]) -> dict[str, Any]:
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        scope = dict(scope)
        hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",")[-MAX_HOPS:] if h.strip()]
        # From the right: the first address not itself a trusted proxy is the client (the left part of the
        # header is whatever the client sent, and could be anything).
        for hop in reversed(hops):
            if not self._trusts(hop) or hop == hops[0]:
                scope["client"] = (hop[:64], 0)
                break
        proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        host = headers.get("x-forwarded-host", "").split(",")[-1].strip()
        if host and len(host) <= 255 and all(c.isalnum() or c in ".-:[]" for c in host):
            scope["headers"] = [(n, v) for n, v in scope["headers"] if n.lower() != b"host"]
            scope["headers"].append((b"host", host.encode("latin-1")))
        return scope
