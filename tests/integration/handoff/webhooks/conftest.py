"""The handoff app in-process with the dispatcher tuned for tests (short timeout and backoff), a
client with the webhooks:admin scope, and the real receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.common.settings import Settings
from services.handoff.app import create_app
from tests.conftest import API_KEY_ALL, Topics
from tests.integration.handoff.data import POLICY
from tests.support import serve_app, wait_until

FAST = {
    "webhook_timeout_s": 5.0,  # "hang" outlasts it; a receiver slowed by a busy machine does not
    "webhook_backoff_base_s": 0.1,
    "webhook_backoff_max_s": 1.0,
    "webhook_poll_s": 0.2,
    "policy_path": POLICY,
}


@dataclass
class Hooks:
    url: str
    app: FastAPI
    client: httpx.AsyncClient
    bootstrap: str
    topics: Topics

    async def register(self, url: str, **fields: Any) -> dict[str, Any]:
        answer = await self.client.post("/v1/webhooks", json={"url": url, "events": ["lead.mql"], **fields})
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        answer = await self.client.get(f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": 500})
        assert answer.status_code == 200, answer.text
        return answer.json()["deliveries"]  # type: ignore[no-any-return]

    async def wait_finished(self, webhook_id: str, count: int, timeout_s: float = 60) -> list[dict[str, Any]]:
        async def finished() -> list[dict[str, Any]] | None:
            rows = [r for r in await self.deliveries(webhook_id) if r["status"] != "pending"]
            return rows if len(rows) >= count else None

        return await wait_until(finished, timeout_s=timeout_s, what=f"{count} finished deliveries")  # type: ignore[return-value]


HooksFactory = Callable[..., Any]


@pytest.fixture
def hooks_app(settings: Settings, kafka_bootstrap: str, topics: Topics) -> HooksFactory:
    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Hooks]:
        app = create_app(settings.model_copy(update={**FAST, **overrides}))
        async with (
            serve_app(app) as url,
            httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {API_KEY_ALL}"}, timeout=30
            ) as client,
        ):
            yield Hooks(url, app, client, kafka_bootstrap, topics)

    return start
