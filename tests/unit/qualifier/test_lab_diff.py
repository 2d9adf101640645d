"""`describe_changes`: a policy change in sentences for the review with sales."""

from __future__ import annotations

from pathlib import Path

from services.common.policy import load_policy
from services.qualifier.lab.diff import describe_changes

DEFAULT = (Path(__file__).parents[3] / "policies/default.yaml").read_text(encoding="utf-8")


def changed(old: str, new: str) -> list[str]:
    text = DEFAULT.replace('version: "2026.1"', 'version: "2026.2"')
    assert old in text
    return describe_changes(load_policy(DEFAULT), load_policy(text.replace(old, new, 1)))


def test_no_change_but_the_version():
    assert describe_changes(load_policy(DEFAULT), load_policy(DEFAULT))[0].startswith("Version is still")
    assert changed('version: "2026.2"', 'version: "2026.2"') == ["Version 2026.1 -> 2026.2."]


def test_threshold_moved_and_attribute_condition_changed():
    out = changed("      score:\n        min: 20", "      score:\n        min: 30")
    assert "Rule 'pricing-after-content' score threshold raised: 20 -> 30." in out
    out = changed("        title_level_at_least: director", "        title_level_at_least: manager")
    assert (
        "Rule 'pricing-after-content' attribute condition: title level director or above -> "
        "title level manager or above." in out
    )


def test_behaviour_reason_codes_and_sla():
    out = changed("downloads_on_one_topic: {min: 2}", "downloads_on_one_topic: {min: 3}")
    assert any(
        s.startswith("Rule 'topic-researcher' behaviour: downloaded 2") and "3 different" in s for s in out
    )
    out = changed("    - {code: no_budget, label: {ja: 予算なし, en: No budget}}\n", "")
    assert "not-SQL reason 'no_budget' removed (No budget)." in out
    out = changed("  decision_hours: 48", "  decision_hours: 24")
    assert any(s.startswith("Decision SLA: 48 h") and "-> 24 h" in s for s in out)
