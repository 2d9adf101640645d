"""/readyz tells the truth: 503 naming the failing dependency, 200 once everything works."""

from __future__ import annotations

import httpx

from services.common.settings import Settings
from services.qualifier.worker import create_app
from tests.support import free_port, serve_app, wait_ready


async def test_readyz_503_when_database_is_unreachable(settings: Settings) -> None:
    broken = settings.model_copy(
        update={"database_url": f"postgresql://postgres@127.0.0.1:{free_port()}/none"}
    )
    async with serve_app(create_app(broken)) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/healthz")).status_code == 200
        answer = await client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"]["database"].startswith("failing")
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200 and "leadstate_consumed_total" in metrics.text


async def test_readyz_200_with_working_dependencies(settings: Settings) -> None:
    async with serve_app(create_app(settings)) as url:
        await wait_ready(url, timeout_s=30)
        async with httpx.AsyncClient(base_url=url) as client:
            checks = (await client.get("/readyz")).json()["checks"]
        assert checks == {"database": "ok", "broker": "ok", "consumer": "ok"}
