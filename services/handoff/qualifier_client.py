"""The handoff's client of the qualifier's HTTP API (LEADSTATE_QUALIFIER_URL): a lead's timeline for the
console, the policy lab's jobs for /v1/policy/simulations and for the console's policy page (the recent
ones, and one started from the page), the advisor's jobs for the same page. The handoff reads nothing of
the qualifier's but these answers: no table, no code.

Every call ends within LEADSTATE_QUALIFIER_TIMEOUT_S, retries included: a lead page must render even when
the qualifier hangs. Idempotent calls are retried on a refused connection, a timeout or a 5xx; a POST
only when its connection was refused (nothing was sent, so no job was created twice). Whatever goes
wrong (not configured, down, slow, an answer too large or unreadable) is `QualifierUnavailable`, which
the console shows as a note and the API answers as 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from services.common.settings import Settings

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 16 * 2**20  # a simulation's report is the largest answer: well under this
RETRY_PAUSES_S = (0.1, 0.3)  # after the first and second failed attempt; then give up
RETRY_AFTER_S = 5


class QualifierUnavailable(Exception):
    """The qualifier's API did not answer usefully in time; the message says why (no secrets in it)."""


class TimelineEntry(BaseModel):
    time: datetime
    kind: str
    text: str
    params: dict[str, str] = {}  # the text's parts by name (a qualifier before issue 20 sends none)
    anonymous: bool
    score: float | None


class Timeline(BaseModel):
    lead_id: str
    policy_version: str
    events: list[TimelineEntry]


@dataclass(frozen=True)
class Answer:
    """An answer of the qualifier passed on as it is (status, JSON body, the headers that matter)."""

    status: int
    body: Any
    headers: dict[str, str]


class QualifierClient:
    def __init__(self, settings: Settings) -> None:
        self._url = settings.qualifier_url.rstrip("/") if settings.qualifier_url else None
        key = settings.qualifier_api_key
        self._key = key.get_secret_value() if key is not None else None
        self._deadline_s = settings.qualifier_timeout_s
        # Each attempt's own timeout is the whole budget: the deadline around the retries bounds them all.
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(
                settings.qualifier_timeout_s, connect=min(1.0, settings.qualifier_timeout_s)
            ),
            follow_redirects=False,
        )

    async def close(self) -> None:
        await self._http.aclose()

    def _own_key(self) -> str:
        if not self._key:
            raise QualifierUnavailable("no key for the qualifier's API (LEADSTATE_QUALIFIER_API_KEY)")
        return self._key

    def _key_or_own(self, authorization: str | None) -> str:
        return authorization if authorization is not None else self._own_key()

    async def timeline(self, lead_id: str) -> Timeline | None:
        """The lead's timeline; None when the qualifier stored no event for it."""
        answer = await self._call("GET", f"/v1/leads/{quote(lead_id, safe='')}/timeline", self._own_key())
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise QualifierUnavailable(f"the qualifier answered {answer.status} for the timeline")
        try:
            return Timeline.model_validate(answer.body)
        except ValidationError as exc:
            problem = f"the qualifier's timeline is unreadable ({exc.error_count()} errors)"
            raise QualifierUnavailable(problem) from None

    async def post_simulation(
        self, candidate: bytes, content_type: str, authorization: str | None = None
    ) -> Answer:
        """Start a simulation with the caller's key (the API), or the handoff's own (the console)."""
        extra = {"Content-Type": content_type}
        return await self._call(
            "POST",
            "/v1/policy/simulations",
            self._key_or_own(authorization),
            content=candidate,
            headers=extra,
        )

    async def get_simulation(self, simulation_id: str, authorization: str | None = None) -> Answer:
        path = f"/v1/policy/simulations/{quote(simulation_id, safe='')}"
        return await self._call("GET", path, self._key_or_own(authorization))

    async def recent_simulations(self, limit: int) -> Answer:
        """The newest simulations with their reports (for the console, with the handoff's own key)."""
        return await self._call("GET", f"/v1/policy/simulations?limit={limit}", self._own_key())

    async def post_suggestions(self, options: dict[str, Any]) -> Answer:
        """Start the policy advisor (for the console, with the handoff's own key)."""
        body, extra = orjson.dumps(options), {"Content-Type": "application/json"}
        return await self._call(
            "POST", "/v1/policy/suggestions", self._own_key(), content=body, headers=extra
        )

    async def get_suggestions(self, suggestions_id: str) -> Answer:
        path = f"/v1/policy/suggestions/{quote(suggestions_id, safe='')}"
        return await self._call("GET", path, self._own_key())

    async def _call(
        self,
        method: str,
        path: str,
        credential: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        if self._url is None:
            raise QualifierUnavailable("the qualifier's address is not configured (LEADSTATE_QUALIFIER_URL)")
        auth = credential if credential.startswith(("Bearer ", "bearer ")) else f"Bearer {credential}"
        request = self._http.build_request(
            method, self._url + path, content=content, headers={**(headers or {}), "Authorization": auth}
        )
        try:
            async with asyncio.timeout(self._deadline_s):
                return await self._with_retries(request)
        except TimeoutError:
            raise QualifierUnavailable(
                f"the qualifier did not answer within {self._deadline_s:g} s"
            ) from None

    async def _with_retries(self, request: httpx.Request) -> Answer:
        idempotent = request.method == "GET"
        for attempt, pause in enumerate((*RETRY_PAUSES_S, None)):
            try:
                answer = await self._send(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing sent: any method retries
                failure = f"cannot connect to the qualifier ({type(exc).__name__})"
            except httpx.TransportError as exc:
                failure = f"the qualifier's answer was lost ({type(exc).__name__})"
                if not idempotent:
                    raise QualifierUnavailable(failure) from None
            else:
                if answer.status < 500:
                    return answer
                failure = f"the qualifier answered {answer.status}"
                if not idempotent:
                    raise QualifierUnavailable(failure)
            log.warning(
                "qualifier API %s %s: %s (attempt %d)", request.method, request.url.path, failure, attempt + 1
            )
            if pause is None:
                raise QualifierUnavailable(failure)
            await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    async def _send(self, request: httpx.Request) -> Answer:
        response = await self._http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                raise QualifierUnavailable("the qualifier's answer is too large")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise QualifierUnavailable("the qualifier's answer is too large")
                chunks.append(chunk)
        finally:
            await response.aclose()
        raw = b"".join(chunks)
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            if response.status_code >= 500:
                body = None  # a proxy's HTML error page: the status says enough
            else:
                raise QualifierUnavailable(
                    f"the qualifier answered {response.status_code} without JSON"
                ) from None
        kept = {k: v for k in ("content-type", "location", "retry-after") if (v := response.headers.get(k))}
        return Answer(response.status_code, body, kept)
