"""The handoff app in-process (real uvicorn) against the test's own database, topics and broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.common.settings import Settings
from services.handoff.app import create_app
from services.handoff.tables import mqls
from tests.conftest import API_KEY_ALL, Topics
from tests.integration.handoff.data import POLICY
from tests.support import publish, serve_app, wait_until


@dataclass
class Handoff:
    url: str
    app: FastAPI
    client: httpx.AsyncClient  # authenticated with every scope
    bootstrap: str
    topics: Topics

    async def projected(self) -> int:
        async with self.app.state.handoff.database.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(mqls)))

    async def publish_mqls(self, envelopes: list, *, expect_rows: int) -> None:
        await publish(self.bootstrap, self.topics.mql, envelopes)
        await wait_until(
            lambda: _at_least(self.projected, expect_rows), timeout_s=30, what=f"{expect_rows} MQLs projected"
        )


async def _at_least(count, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await count() >= n


@pytest.fixture
async def handoff(settings: Settings, kafka_bootstrap: str, topics: Topics) -> AsyncIterator[Handoff]:
    app = create_app(settings.model_copy(update={"policy_path": POLICY}))
    async with (
        serve_app(app) as url,
        httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {API_KEY_ALL}"}, timeout=30
        ) as client,
    ):
        yield Handoff(url, app, client, kafka_bootstrap, topics)
