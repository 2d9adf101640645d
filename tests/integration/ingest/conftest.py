"""An ingest app on a real socket against the session's broker, and a client holding the write key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.common.settings import Settings
from services.ingest.app import create_app
from tests.conftest import WRITE_KEY
from tests.support import serve_app, wait_ready


@pytest.fixture
def ingest_settings(settings: Settings) -> Settings:
    """Override in a module to run ingest with other settings."""
    return settings


@pytest.fixture
async def ingest(ingest_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_app(create_app(ingest_settings)) as url:
        await wait_ready(url)
        async with httpx.AsyncClient(base_url=url, auth=(WRITE_KEY, ""), timeout=30) as client:
            yield client
