"""The handoff app (and so its console) in-process on real uvicorn, against the test's own database and
broker; a browser-like client that keeps cookies and does not follow redirects."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select

from services.common.settings import Settings
from services.handoff.app import create_app
from services.handoff.tables import decisions, mqls
from tests.conftest import API_KEY_READ, Topics
from tests.integration.handoff.data import POLICY, mql_envelope
from tests.support import publish, serve_app, wait_until


@dataclass
class Console:
    url: str
    app: FastAPI
    bootstrap: str
    topics: Topics

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, follow_redirects=False, timeout=30)

    async def login(self, browser: httpx.AsyncClient, key: str, name: str = "Aiko Sato") -> str:
        """Log in through the form; the CSRF token of the session."""
        answer = await post_login(browser, {"key": key, "name": name})
        assert answer.status_code == 303, answer.text
        return csrf_of((await browser.get("/console/policy")).text)

    async def count(self, table) -> int:  # type: ignore[no-untyped-def]
        async with self.app.state.handoff.database.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(table)))

    async def add_mqls(self, *lead_ids: str) -> None:
        await publish(self.bootstrap, self.topics.mql, [mql_envelope(lead) for lead in lead_ids])

        async def projected() -> bool:
            return await self.count(mqls) >= len(lead_ids)

        await wait_until(projected, timeout_s=30, what=f"{len(lead_ids)} MQLs projected")

    async def decisions(self) -> int:
        return await self.count(decisions)


async def post_login(browser: httpx.AsyncClient, fields: dict[str, str]) -> httpx.Response:
    """What a browser does: load the login form (its CSRF token and cookie), then submit it."""
    form = await browser.get("/console/login")
    return await browser.post("/console/login", data={**fields, "csrf": csrf_of(form.text)})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture
async def console(settings: Settings, kafka_bootstrap: str, topics: Topics) -> AsyncIterator[Console]:
    app = create_app(settings.model_copy(update={"policy_path": POLICY}))
    async with serve_app(app) as url:
        yield Console(url, app, kafka_bootstrap, topics)


ConsoleWith = Callable[..., AbstractAsyncContextManager[Console]]


@pytest.fixture
def console_with(settings: Settings, kafka_bootstrap: str, topics: Topics) -> ConsoleWith:
    """The console of a handoff that reads the qualifier's API at `qualifier_url`."""

    @asynccontextmanager
    async def running(qualifier_url: str, **more: Any) -> AsyncIterator[Console]:
        key = SecretStr(API_KEY_READ)
        update = {"policy_path": POLICY, "qualifier_url": qualifier_url, "qualifier_api_key": key, **more}
        app = create_app(settings.model_copy(update=update))
        async with serve_app(app) as url:
            yield Console(url, app, kafka_bootstrap, topics)

    return running
