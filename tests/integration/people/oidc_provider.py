"""A real OpenID Connect provider for the sign-on tests: PyPI `oidc-provider-mock` (0.3.4: the last for
Python 3.11) as its own process, with its login page (type a subject, press Authorize), its own signing
key, one-time codes and discovery. A person's claims (email, groups) are set through its HTTP API.

Also a person who drives it without a browser (httpx): the console's link, the provider's form, the
redirect back; and a man in the middle of the token endpoint, for ID tokens nobody legitimate signed."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import orjson
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support import free_port, serve_app, stop_process, wait_until

CLIENT_ID = "leadstate-console"
CLIENT_SECRET = "a-client-secret-for-tests"


@dataclass
class Provider:
    url: str  # the issuer

    async def person(self, sub: str, **claims: Any) -> None:
        """What the provider says about `sub` when they sign in (email defaults to `sub`)."""
        async with httpx.AsyncClient() as client:
            answer = await client.put(f"{self.url}/users/{sub}", json={"email": sub, **claims})
            assert answer.status_code == 204, answer.text


@asynccontextmanager
async def running_provider(*options: str) -> AsyncIterator[Provider]:
    """The provider's process, answering its discovery document. One that ends before it answers (the
    free port taken meanwhile by another process) is started again on another port; one that does not
    answer in time fails the test with what it printed."""
    printed = ""
    for _ in range(3):
        port = free_port()
        command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *options]
        with tempfile.TemporaryFile() as log:
            process = await asyncio.to_thread(subprocess.Popen, command, stdout=log, stderr=subprocess.STDOUT)
            provider = Provider(f"http://127.0.0.1:{port}")
            try:
                if await _answering(provider, process):
                    yield provider
                    return
            finally:
                stop_process(process)
            log.seek(0)
            printed = log.read()[-2000:].decode(errors="replace")
    raise AssertionError(f"the OpenID provider ended before it answered, three times: {printed}")


async def _answering(provider: Provider, process: subprocess.Popen[bytes]) -> bool:
    """True once it answers; False if it ended first; an AssertionError after 60 s."""

    async def answers_or_ended() -> bool:
        if process.poll() is not None:
            return True
        try:
            async with httpx.AsyncClient() as client:
                answer = await client.get(f"{provider.url}/.well-known/openid-configuration")
                return answer.status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(answers_or_ended, timeout_s=60, what=f"the OpenID provider at {provider.url}")
    return process.poll() is None


def oidc_settings(issuer: str, **more: object) -> dict[str, object]:
    secret = SecretStr(CLIENT_SECRET)  # model_copy does not validate: the type the settings would hold
    base = {"oidc_issuer": issuer, "oidc_client_id": CLIENT_ID, "oidc_client_secret": secret}
    return {**base, "oidc_allowed_domains": ("acme.test",), **more}


@dataclass
class Leg:
    """Where one sign-in stands: the provider's form URL, then the callback the provider sent back to."""

    authorize: str
    callback: str = ""


async def leave_for_provider(browser: httpx.AsyncClient, next: str = "/console/inbox") -> Leg:
    answer = await browser.get("/console/login/oidc", params={"next": next})
    assert answer.status_code == 303, answer.text
    return Leg(answer.headers["location"])


async def authorize(leg: Leg, sub: str, *, edit: Callable[[str], str] = lambda url: url) -> Leg:
    """The person types `sub` on the provider's page and presses Authorize; `edit` changes the
    authorization URL first (an attacker's hand). The provider's redirect back is recorded, not followed."""
    async with httpx.AsyncClient() as client:
        answer = await client.post(edit(leg.authorize), data={"sub": sub})
    assert answer.status_code in (302, 303), answer.text
    leg.callback = answer.headers["location"]
    return leg


async def come_back(browser: httpx.AsyncClient, leg: Leg) -> httpx.Response:
    parts = urlsplit(leg.callback)
    return await browser.get(urlunsplit(("", "", parts.path, parts.query, "")))


async def sign_on(browser: httpx.AsyncClient, sub: str, next: str = "/console/inbox") -> httpx.Response:
    return await come_back(browser, await authorize(await leave_for_provider(browser, next), sub))


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    params = {**query(url), name: value}
    return urlunsplit(parts._replace(query=str(httpx.QueryParams(params))))


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pkce_refusal(challenges: dict[str, str], path: str, form: dict[str, str]) -> Response | None:
    """RFC 7636 at the token endpoint, as providers that enforce it answer: a code issued for a
    `code_challenge` is redeemed only with the `code_verifier` whose S256 hash it is."""
    if path != "/oauth2/token" or (challenge := challenges.get(form.get("code", ""))) is None:
        return None
    if create_s256_code_challenge(form.get("code_verifier", "")) == challenge:
        return None
    refusal = {"error": "invalid_grant", "error_description": "code_verifier does not match the challenge"}
    return Response(orjson.dumps(refusal), status_code=400, media_type="application/json")


@asynccontextmanager
async def man_in_the_middle(provider: Provider, forge: Callable[[str], str]) -> AsyncIterator[str]:
    """A proxy in front of the provider that hands its Host through (so the provider names the proxy
    as its issuer and everything goes through it) and replaces the ID token of every token answer by
    `forge(id_token)`. It also enforces PKCE (S256), which oidc-provider-mock does not: the challenge of
    each authorization is remembered by the code issued for it. Yields the proxy's address: the issuer
    leadstate is configured with."""
    challenges: dict[str, str] = {}  # code -> its authorization request's code_challenge

    async def forward(request: Request) -> Response:
        body = await request.body()
        if refused := pkce_refusal(
            challenges, request.url.path, {k: v[0] for k, v in parse_qs(body.decode()).items()}
        ):
            return refused
        async with httpx.AsyncClient() as client:
            answer = await client.request(
                request.method,
                f"{provider.url}{request.url.path}",
                params=request.query_params,
                content=body,
                headers=[(k, v) for k, v in request.headers.items() if k.lower() != "content-length"],
            )
        if request.url.path == "/oauth2/authorize" and (
            code := query(answer.headers.get("location", "")).get("code")
        ):
            if challenge := request.query_params.get("code_challenge"):
                challenges[code] = challenge
        body = answer.content
        if request.url.path == "/oauth2/token" and answer.status_code == 200:
            token = orjson.loads(body)
            body = orjson.dumps({**token, "id_token": forge(token["id_token"])})
        kept = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "location")}
        return Response(body, status_code=answer.status_code, headers=kept)

    app = Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "PUT"])])
    async with serve_app(app) as url:  # type: ignore[arg-type]
        yield url
