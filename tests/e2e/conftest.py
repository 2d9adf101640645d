"""Fixtures of the end-to-end tests: a headless Chromium page, and a data directory for the tests that run
`leadstate dev` as a process."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.common.processes import private_dir
from tests.e2e.browser import Page, chromium_or_skip, chromium_page


@pytest.fixture
def dev_data() -> Iterator[Path]:
    """LEADSTATE_DATA_DIR for one `leadstate dev`, outside pytest's basetemp: every pytest session that
    starts (another worker, another checkout) resets that tree to mode 0700, which locks out the
    `pgserver` user the embedded PostgreSQL runs as under root. An interrupted run's is reclaimed."""
    root = private_dir("leadstate-test-dev-")
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    """A headless Chromium page (the test is skipped where there is no Chromium)."""
    async with chromium_page(chromium_or_skip(), tmp_path / "profile") as opened:
        yield opened
