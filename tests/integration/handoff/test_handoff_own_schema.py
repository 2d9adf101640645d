"""The handoff needs no grant on the qualifier's schema: run as a database role that may use only the
`handoff` schema, it projects MQLs, serves the console's lead page (the timeline from the qualifier's
API), records decisions and forwards the policy lab, while that role cannot read a qualifier table."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from services.common.db import connect
from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.qualifier.stitching import lead_id_for
from services.qualifier.worker import create_app as create_qualifier
from tests.conftest import API_KEY_ALL, API_KEY_READ, Topics
from tests.integration.console.conftest import Console
from tests.integration.handoff.data import POLICY
from tests.integration.qualifier.conftest import at, download, identify
from tests.support import publish, serve_app, wait_until


@pytest.fixture
async def handoff_only_url(database_url: str) -> AsyncIterator[str]:
    """The test database as a new role granted the handoff's schema and nothing of the qualifier's."""
    role = f"handoff_{uuid.uuid4().hex[:10]}"
    admin = await connect(database_url)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        await admin.execute(f"GRANT USAGE ON SCHEMA handoff TO {role}")
        await admin.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA handoff TO {role}")
        await admin.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA handoff TO {role}")
        yield make_url(database_url).set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        await admin.close()


async def test_the_handoff_runs_without_any_grant_on_the_qualifier_schema(
    settings: Settings, handoff_only_url: str, kafka_bootstrap: str, topics: Topics
) -> None:
    restricted = await connect(handoff_only_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await restricted.fetchval("SELECT count(*) FROM qualifier.events")  # the check can fail
    finally:
        await restricted.close()
    events = [download(at(0), "wp-lead-scoring", anon="a-own"), identify(at(5), user="u-own", anon="a-own")]
    lead_id = lead_id_for("user:u-own")
    async with serve_app(create_qualifier(settings)) as qualifier_url:
        update = {
            "database_url": handoff_only_url,
            "policy_path": POLICY,
            "qualifier_url": qualifier_url,
            "qualifier_api_key": SecretStr(API_KEY_READ),
        }
        app = create_handoff(settings.model_copy(update=update))
        async with serve_app(app) as url:
            console = Console(url, app, kafka_bootstrap, topics)
            await publish(kafka_bootstrap, topics.events, list(events))

            async def stored() -> bool:
                found = await app.state.handoff.qualifier.timeline(lead_id)
                return found is not None and len(found.events) == len(events)

            await wait_until(stored, timeout_s=30, what="the lead's events on the qualifier's API")
            await console.add_mqls(lead_id)  # projected by the restricted role
            async with console.browser() as browser:
                await console.login(browser, API_KEY_ALL)
                page = await browser.get(f"/console/leads/{lead_id}")
            assert page.status_code == 200, page.text
            assert page.text.count('<tr class="kind-') == 2 and "Timeline unavailable" not in page.text

            headers = {"Authorization": f"Bearer {API_KEY_ALL}"}
            async with httpx.AsyncClient(base_url=url, headers=headers) as api:
                decided = await api.post(
                    f"/v1/leads/{lead_id}/decisions",
                    json={"outcome": "sql", "reason": "problem_confirmed", "decided_by": "ken@sales"},
                )
                assert decided.status_code == 201, decided.text
                lab = await api.post(
                    "/v1/policy/simulations",
                    content=POLICY.read_bytes(),
                    headers={"Content-Type": "text/yaml"},
                )
                assert lab.status_code == 202, lab.text  # the qualifier has a history: the job started
