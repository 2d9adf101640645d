"""Where a webhook may be sent: https to public addresses only, checked at registration and again at
every connection (the dispatcher connects to the address it checked, so a DNS answer that changes
between the check and the connection, DNS rebinding, cannot reach an internal service).

`allow_private` (LEADSTATE_WEBHOOK_ALLOW_PRIVATE, for local development) lifts both rules: loopback,
private and link-local addresses and plain http are accepted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL or the address it resolves to is refused; the text says why in English (safe to show the
    caller); `code` and `params` say it as data, for the console to word in the reader's language."""

    def __init__(self, message: str, code: str, **params: Any) -> None:
        super().__init__(message)
        self.code, self.params = code, params


@dataclass(frozen=True)
class Target:
    """A URL split for connecting to one checked address while speaking to the URL's host."""

    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query


def parse_target(url: str, *, allow_private: bool) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}", "invalid_url", why=str(exc)) from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrl(
            "only https:// URLs are accepted"
            + (
                "" if allow_private else " (LEADSTATE_WEBHOOK_ALLOW_PRIVATE=true allows http for development)"
            ),
            "https_only" if allow_private else "https_only_in_production",
        )
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host", "no_host")
    if parts.username or parts.password:
        raise UnsafeUrl(
            "credentials in the URL are not accepted; put a token in the path instead", "credentials"
        )
    if parts.fragment:
        raise UnsafeUrl("the URL has a fragment (#...), which is never sent", "fragment")
    if not allow_private:
        _refuse_internal_name(parts.hostname)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url, parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet", ".corp")


def _refuse_internal_name(host: str) -> None:
    """Names that only mean something inside a network are refused before any DNS question is asked."""
    try:
        ipaddress.ip_address(host)
        return  # an address literal: the address check decides
    except ValueError:
        pass
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise UnsafeUrl(f"{host} is a loopback name", "loopback_name", host=host)
    if "." not in name:
        raise UnsafeUrl(
            f"{host} is a single-label name (internal); use a public domain name", "single_label", host=host
        )
    if name.endswith(INTERNAL_SUFFIXES):
        raise UnsafeUrl(f"{host} is an internal name", "internal_name", host=host)
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise UnsafeUrl(f"{host} is not a valid host name", "invalid_host", host=host)


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


# The kinds of address a webhook may not reach, in the order they are checked, with their English words.
ADDRESS_KINDS = {
    "loopback": "loopback",
    "link_local": "link-local (cloud metadata lives there)",
    "unspecified": "unspecified",
    "private": "private",
    "multicast": "multicast",
    "reserved": "reserved",
}


def refusal(address: IPAddress) -> tuple[str, str] | None:
    """Why an address may not be a webhook target (its kind, a key of ADDRESS_KINDS or `not_public`, and
    the English words), or None if it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("link_local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return kind, f"{address} is a {ADDRESS_KINDS[kind]} address"
    if not address.is_global:
        return "not_public", f"{address} is not a public address"
    return None


async def resolve_checked(target: Target, *, allow_private: bool) -> list[IPAddress]:
    """The target's addresses, every one of them public (or any, with allow_private); raises UnsafeUrl."""
    try:
        literal = ipaddress.ip_address(target.host)
        addresses: list[IPAddress] = [literal]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise Unresolvable(
                f"{target.host} does not resolve: {exc.strerror}",
                "unresolvable",
                host=target.host,
                why=str(exc.strerror),
            ) from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not allow_private:
        # one refused address refuses the host: a resolver could otherwise be steered to it later
        for address in addresses:
            refused = refusal(address)
            if refused is not None:
                kind, reason = refused
                named = str(address) == target.host
                raise UnsafeUrl(
                    reason if named else f"{target.host} resolves to {reason}",
                    "address" if named else "resolves_to",
                    host=target.host,
                    address=str(address),
                    kind=kind,
                )
    if not addresses:
        raise Unresolvable(f"{target.host} does not resolve", "unresolvable", host=target.host, why="")
    return addresses


class Unresolvable(UnsafeUrl):
    """The host has no address now: at registration a refusal, at delivery a retryable error."""


async def check_url(url: str, *, allow_private: bool) -> Target:
    target = parse_target(url, allow_private=allow_private)
    await resolve_checked(target, allow_private=allow_private)
    return target
