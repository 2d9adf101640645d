"""One delivery attempt over HTTP: resolve, check, connect to the checked address (the URL's host
still names the TLS server and the Host header), no redirects, no proxies from the environment, and
at most RESPONSE_CAP bytes of the answer read."""

from __future__ import annotations

import email.utils
import ipaddress
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from .safety import Target, Unresolvable, UnsafeUrl, parse_target, resolve_checked

RESPONSE_CAP = 4096


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to; `retry` says whether trying again can help."""

    delivered: bool
    retry: bool
    status_code: int | None
    error: str | None
    latency_ms: float
    retry_after_s: float | None = None


def _authority(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _ip_url(target: Target, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"{target.scheme}://{host}:{target.port}{target.path}"


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def classify(status: int) -> tuple[bool, bool]:
    """(delivered, retry) for an HTTP status: 2xx delivered; 408, 429 and 5xx retried; the rest final
    (a 3xx included: redirects are not followed)."""
    if 200 <= status < 300:
        return True, False
    return False, status in (408, 429) or status >= 500


async def post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    timeout_s: float,
) -> Attempt:
    started = time.perf_counter()

    def took() -> float:
        return round((time.perf_counter() - started) * 1000, 2)

    try:
        target = parse_target(url, allow_private=allow_private)
        addresses = await resolve_checked(target, allow_private=allow_private)
    except Unresolvable as exc:
        return Attempt(False, True, None, str(exc), took())
    except UnsafeUrl as exc:
        return Attempt(False, False, None, f"refused: {exc}", took())
    request_headers = {**headers, "host": _authority(target)}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        request = client.build_request(
            "POST",
            _ip_url(target, addresses[0]),
            content=body,
            headers=request_headers,
            extensions={**extensions, "timeout": httpx.Timeout(timeout_s).as_dict()},
        )
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= RESPONSE_CAP:
                    break  # the answer's body says nothing we act on; a huge one is not read
        finally:
            await response.aclose()
    except httpx.TimeoutException:
        return Attempt(False, True, None, f"timed out after {timeout_s:g}s", took())
    except (httpx.TransportError, OSError) as exc:
        return Attempt(False, True, None, f"connection failed: {type(exc).__name__}: {exc}"[:300], took())
    delivered, retry = classify(response.status_code)
    error = None
    if not delivered:
        error = f"HTTP {response.status_code}"
        if 300 <= response.status_code < 400:
            error += " (redirects are not followed)"
    return Attempt(
        delivered,
        retry,
        response.status_code,
        error,
        took(),
        retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC)),
    )


def new_client() -> httpx.AsyncClient:
    # trust_env=False: an HTTP(S)_PROXY in the environment would connect for us, past the address check.
    # No kept-alive connections: the pool is keyed by the address we connect to, so two hosts on one
    # address would share a TLS session checked against the first host's name.
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=0),
    )
