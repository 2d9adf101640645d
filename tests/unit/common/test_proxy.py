"""X-Forwarded-* believed from trusted proxies only: the client address, scheme and host they give."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.common.proxy import ForwardedHeaders, trusted_networks


def seen(trusted: str, peer: str, **headers: str) -> dict[str, Any]:
    """The scope the application behind the middleware receives."""
    received: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        received.update(scope)

    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    scope = {
        "type": "http",
        "client": (peer, 5000),
        "scheme": "http",
        "headers": [(b"host", b"10.0.0.5:8001"), *raw],
    }
    middleware = ForwardedHeaders(app, trusted_networks(trusted.split(",")))
    asyncio.run(middleware(scope, None, None))
    host = next(v.decode() for n, v in received["headers"] if n == b"host")
    return {"client": received["client"][0], "scheme": received["scheme"], "host": host}


def test_a_trusted_proxy_gives_the_client_scheme_and_host() -> None:
    headers = {
        "x_forwarded_for": "203.0.113.7",
        "x_forwarded_proto": "https",
        "x_forwarded_host": "crm.acme.test",
    }
    assert seen("10.0.0.0/8", "10.1.2.3", **headers) == {
        "client": "203.0.113.7",
        "scheme": "https",
        "host": "crm.acme.test",
    }


def test_anyone_else_is_not_believed() -> None:
    headers = {
        "x_forwarded_for": "203.0.113.7",
        "x_forwarded_proto": "https",
        "x_forwarded_host": "evil.test",
    }
    assert seen("10.0.0.0/8", "198.51.100.1", **headers) == {
        "client": "198.51.100.1",
        "scheme": "http",
        "host": "10.0.0.5:8001",
    }


def test_the_client_is_the_rightmost_address_no_trusted_proxy_added() -> None:
    chain = "1.1.1.1, 203.0.113.7, 10.0.0.9"  # the client wrote the first; two proxies the rest
    assert seen("10.0.0.0/8", "10.0.0.8", x_forwarded_for=chain)["client"] == "203.0.113.7"
    assert seen("10.0.0.0/8", "10.0.0.8", x_forwarded_for="10.0.0.3, 10.0.0.9")["client"] == "10.0.0.3"
    assert seen("*", "198.51.100.1", x_forwarded_for="203.0.113.7")["client"] == "203.0.113.7"


@pytest.mark.parametrize("host", ["evil.test/path", "a b", "x" * 300, "evil.test\r\nX: y"])
def test_a_malformed_forwarded_host_or_scheme_is_ignored(host: str) -> None:
    got = seen("10.0.0.0/8", "10.0.0.8", x_forwarded_host=host, x_forwarded_proto="gopher")
    assert got["host"] == "10.0.0.5:8001" and got["scheme"] == "http"


def test_unreadable_networks_are_refused() -> None:
    with pytest.raises(ValueError, match="LEADSTATE_TRUSTED_PROXIES"):
        trusted_networks(["10.0.0.0/33"])
