"""The identity provider, spoken to with OpenID Connect through Authlib (no hand-written JOSE): discovery
from the issuer, the authorization request with PKCE (S256), `state` and `nonce`, the code exchanged for
tokens, and the ID token's signature (the provider's published keys) and claims (iss, aud, azp, exp, iat,
nonce, at_hash) checked. What the provider publishes is fetched with bounds on size and time."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
import orjson
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from services.common.settings import Settings

TIMEOUT = httpx.Timeout(10.0)
MAX_DOCUMENT = 256 * 1024  # discovery, key set, token answer: a few KB in practice
METADATA_TTL_S = 3600.0  # the provider's keys rotate; read again at most this late
REFETCH_KEYS_S = 60.0  # an unknown key id makes us read the key set again, at most this often
LEEWAY_S = 60  # clocks differ a little between us and the provider
# Signatures we accept: asymmetric only (never `none`, never HMAC with the client secret)
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class ProviderUnavailable(Exception):
    """The identity provider could not be reached or answered something that is not OpenID Connect."""


class SignInRefused(Exception):
    """The provider's answer failed a check: nobody is signed in. The message says which, in English;
    `code` and `params` say it as data, for the page to word in the reader's language."""

    def __init__(self, message: str, code: str, **params: str) -> None:
        super().__init__(message)
        self.code, self.params = code, params


@dataclass(frozen=True)
class Flow:
    """What ties the provider's answer to the request this browser started (kept in its flow cookie)."""

    state: str
    nonce: str
    verifier: str  # PKCE: only we know it, so a code stolen on its way back is useless to others
    next: str


class IdentityProvider:
    def __init__(self, issuer: str, client_id: str, client_secret: str | None, scopes: str) -> None:
        self.issuer, self.client_id, self._secret, self._scopes = issuer, client_id, client_secret, scopes
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._read_at = self._keys_read_at = 0.0
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, settings: Settings) -> IdentityProvider | None:
        if settings.oidc_issuer is None or settings.oidc_client_id is None:
            return None
        secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
        return cls(settings.oidc_issuer, settings.oidc_client_id, secret, settings.oidc_scopes)

    async def start(self, redirect_uri: str, next_url: str) -> tuple[str, Flow]:
        """Where to send the browser, and what to remember until it comes back."""
        metadata = await self.metadata()
        flow = Flow(
            state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64), next=next_url
        )
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=self._scopes,
            state=flow.state,
            nonce=flow.nonce,
            code_challenge=create_s256_code_challenge(flow.verifier),
            code_challenge_method="S256",
        )
        return url, flow

    async def claims(self, code: str, redirect_uri: str, flow: Flow) -> dict[str, Any]:
        """The ID token's claims, once the code is exchanged and every check passed."""
        metadata = await self.metadata()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        form["code_verifier"] = flow.verifier
        if self._secret is None:  # a public client: PKCE alone
            form["client_id"] = self.client_id
        auth = (quote_plus(self.client_id), quote_plus(self._secret)) if self._secret else None
        status, token = await _json("POST", metadata["token_endpoint"], data=form, auth=auth)
        if status != 200:  # e.g. invalid_grant: a code used twice, expired, or issued to another flow
            error = str(token.get("error"))[:100]
            raise SignInRefused(
                f"the identity provider refused the sign-in code ({error})", "code_refused", error=error
            )
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or len(id_token) > 64 * 1024:
            raise SignInRefused("the identity provider sent no ID token", "no_id_token")
        return await self._verified(id_token, flow.nonce, str(token.get("access_token") or ""))

    async def _verified(self, id_token: str, nonce: str, access_token: str) -> dict[str, Any]:
        metadata = await self.metadata()
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in offered if a in ALGORITHMS], strict_check_header=False)
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys since we read them
                decoded = jwt.decode(id_token, await self._key_set(refresh=True), registry=registry)
            options = {
                "iss": {"essential": True, "value": metadata["issuer"]},
                "aud": {"essential": True, "value": self.client_id},
            }
            params = {"nonce": nonce, "client_id": self.client_id, "access_token": access_token}
            claims = CodeIDToken(decoded.claims, decoded.header, options, params)
            claims.validate(leeway=LEEWAY_S)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            why = _what(exc)
            raise SignInRefused(
                f"the ID token failed its checks ({why})", "id_token_invalid", why=why
            ) from None
        return dict(claims)

    async def metadata(self) -> dict[str, Any]:
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._read_at > METADATA_TTL_S:
                url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                found = await _document(url)
                if str(found.get("issuer", "")).rstrip("/") != self.issuer.rstrip("/"):
                    raise ProviderUnavailable(
                        f"{url} names another issuer ({str(found.get('issuer'))[:200]})"
                    )
                needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
                if not all(isinstance(found.get(k), str) for k in needed):
                    raise ProviderUnavailable(f"{url} lacks one of {', '.join(needed)}")
                self._metadata, self._read_at, self._keys = found, time.monotonic(), None
            return self._metadata

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        metadata = await self.metadata()
        async with self._lock:
            stale = refresh and time.monotonic() - self._keys_read_at > REFETCH_KEYS_S
            if self._keys is None or stale:
                try:
                    self._keys = KeySet.import_key_set(await _document(metadata["jwks_uri"]))  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError) as exc:
                    raise ProviderUnavailable(f"the provider's key set cannot be read ({exc})") from None
                self._keys_read_at = time.monotonic()
            return self._keys


def _what(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


async def _document(url: str) -> dict[str, Any]:
    status, found = await _json("GET", url)
    if status != 200:
        raise ProviderUnavailable(f"{url} answered {status}")
    return found


async def _json(method: str, url: str, **request: Any) -> tuple[int, dict[str, Any]]:
    """A JSON object from the provider and its status: at most MAX_DOCUMENT bytes, within TIMEOUT."""
    try:
        async with (
            httpx.AsyncClient(timeout=TIMEOUT) as client,
            client.stream(method, url, **request) as answer,
        ):
            body = b""
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT:
                    raise ProviderUnavailable(f"{url} sent more than {MAX_DOCUMENT} bytes")
        found = orjson.loads(body)
    except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from None
    if not isinstance(found, dict):
        raise ProviderUnavailable(f"{url} did not answer a JSON object")
    return answer.status_code, found
