"""services/common/policy_file.py: the policy file named by LEADSTATE_POLICY_PATH, read once; a missing or
broken one is a settings error naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.policy_file import settings_policy
from services.common.settings import Settings, SettingsError


def test_a_missing_or_broken_policy_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="LEADSTATE_POLICY_PATH: cannot read"):
        settings_policy(Settings(policy_path=tmp_path / "nope.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nreasons: {}\n")
    with pytest.raises(SettingsError, match="not a valid policy"):
        settings_policy(Settings(policy_path=broken))
