"""Fixtures of the tests that run `leadstate dev` as a process."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.processes import private_dir


@pytest.fixture
def dev_data() -> Iterator[Path]:
    """LEADSTATE_DATA_DIR for one `leadstate dev`, outside pytest's basetemp: every pytest session that
    starts (another worker, another checkout) resets that tree to mode 0700, which locks out the
    `pgserver` user the embedded PostgreSQL runs as under root. An interrupted run's is reclaimed."""
    root = private_dir("leadstate-test-dev-")
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)
