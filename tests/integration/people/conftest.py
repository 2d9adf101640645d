"""The handoff app with its console, and people in it: accounts added as `leadstate users add` adds them,
signed in through the console's forms by a cookie-keeping client."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.common.settings import Settings
from services.handoff import accounts
from services.handoff.app import create_app
from services.handoff.tables import audit, mqls
from tests.conftest import Topics
from tests.integration.console.conftest import csrf_of
from tests.integration.handoff.data import POLICY, mql_envelope
from tests.integration.people.oidc_provider import Provider, running_provider
from tests.support import publish, serve_app, wait_until

PASSWORD = "correct horse battery staple"
LINK = re.compile(r"(http://\S+/console/set-password\?token=\S+)")


@dataclass
class People:
    url: str
    app: FastAPI
    env: dict[str, str]
    bootstrap: str
    topics: Topics
    opened: list[httpx.AsyncClient] = field(default_factory=list)

    def browser(self) -> httpx.AsyncClient:
        """A cookie-keeping client that does not follow redirects; closed when the test ends."""
        client = httpx.AsyncClient(base_url=self.url, follow_redirects=False, timeout=30)
        self.opened.append(client)
        return client

    async def cli(self, *args: str) -> tuple[int, str, str]:
        """`leadstate ARGS` in its own process, against this test's database."""
        env = {**os.environ, **self.env, "LEADSTATE_CONSOLE_URL": f"{self.url}/console"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.cli", *args, env=env, stdout=-1, stderr=-1
        )
        out, err = await process.communicate()
        return process.returncode or 0, out.decode(), err.decode()

    async def add(self, email: str, role: str) -> str:
        """A person added in-process as the CLI adds one (the CLI itself has its own test); the token."""
        async with self.app.state.handoff.database.sessions() as session, session.begin():
            _, token = await accounts.add_user(
                session, email, role, by="test", now=datetime.now(UTC), link_valid=timedelta(hours=1)
            )
        async with self.app.state.handoff.database.sessions() as session, session.begin():
            await accounts.set_password(session, token, PASSWORD, now=datetime.now(UTC))
        return token

    async def sign_in(
        self, browser: httpx.AsyncClient, email: str, password: str = PASSWORD, next: str = "/console/inbox"
    ) -> httpx.Response:
        form = await browser.get("/console/login")
        fields = {"email": email, "password": password, "csrf": csrf_of(form.text), "next": next}
        return await browser.post("/console/login/password", data=fields)

    async def signed_in(self, email: str, role: str) -> tuple[httpx.AsyncClient, str]:
        """A new browser signed in as a new person; its session's CSRF token."""
        await self.add(email, role)
        browser = self.browser()
        answer = await self.sign_in(browser, email)
        assert answer.status_code == 303, answer.text
        return browser, csrf_of((await browser.get("/console/policy")).text)

    async def audit(self) -> list[Any]:
        async with self.app.state.handoff.database.engine.connect() as conn:
            return list(await conn.execute(select(audit).order_by(audit.c.audit_id)))

    async def add_mql(self, lead_id: str) -> None:
        await publish(self.bootstrap, self.topics.mql, [mql_envelope(lead_id)])

        async def inbox_has_it() -> bool:
            async with self.app.state.handoff.database.engine.connect() as conn:
                return bool(await conn.scalar(select(mqls.c.mql_id).where(mqls.c.lead_id == lead_id)))

        await wait_until(inbox_has_it, timeout_s=30, what=f"MQL of {lead_id} projected")


PeopleFactory = Callable[..., Any]


@pytest.fixture
def people_app(
    settings: Settings, env: dict[str, str], kafka_bootstrap: str, topics: Topics
) -> Callable[..., Any]:
    @asynccontextmanager
    async def start(**overrides: object) -> AsyncIterator[People]:
        app = create_app(settings.model_copy(update={"policy_path": POLICY, **overrides}))
        async with serve_app(app) as url:
            started = People(url, app, env, kafka_bootstrap, topics)
            try:
                yield started
            finally:
                for client in started.opened:
                    await client.aclose()

    return start


@pytest.fixture
async def people(people_app: Callable[..., Any]) -> AsyncIterator[People]:
    async with people_app() as started:
        yield started


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    """A real OpenID Connect provider process (tests/integration/people/oidc_provider.py)."""
    async with running_provider() as started:
        yield started
