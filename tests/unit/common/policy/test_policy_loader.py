from __future__ import annotations

import pytest

from services.common.policy import PolicyError, describe_policy, load_policy
from tests.unit.common.policy.conftest import DEFAULT_POLICY_TEXT

RULE_SEMINAR = """  - name: seminar-attendee
    description: x
    when:
      behaviour:
        seminar_attended: {topics: any}
      attributes:
        industry_in: target
        title_level_at_least: manager
    next_checks: [Ask about the problem.]
"""


def with_rule(rule_yaml: str) -> str:
    """The default policy with one more rule appended at the end of `rules:`."""
    head, sep, tail = DEFAULT_POLICY_TEXT.partition("\n# The reasons sales picks from")
    return head.rstrip("\n") + "\n" + rule_yaml + "\n" + sep + tail


def issues_of(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_policy(text, "policies/x.yaml")
    return info.value


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_default_policy_loads_and_describes_every_rule(policy):
    assert policy.version == "2026.1"
    assert [r.name for r in policy.rules][:2] == ["seminar-attendee", "topic-researcher"]
    assert all(r.next_checks for r in policy.rules)
    sentences = describe_policy(policy)
    assert len(sentences) == len(policy.rules)
    assert "attended a seminar on any topic" in sentences[0]
    assert {r.code for r in policy.reason_codes("rejected")} >= {"no_budget", "student_or_job_seeker"}
    assert policy.reason_codes("sql") and policy.reason_codes("bogus") == ()


def test_score_only_rule_is_refused_with_the_seeds_reason_and_line():
    text = with_rule(
        "  - name: score-only\n    description: hot leads\n    when:\n      score: {min: 50}\n"
        "    next_checks: [Call.]\n"
    )
    error = issues_of(text)
    [issue] = error.issues
    assert issue.rule == "score-only"
    assert "a score is one input; it cannot replace a sales judgement" in issue.message
    rule_line = line_of(text, "name: score-only")
    assert issue.line == next(
        i for i, ln in enumerate(text.splitlines(), 1) if ln == "    when:" and i > rule_line
    )
    assert f"policies/x.yaml:{issue.line}: rules[4] 'score-only': when:" in str(error)


def test_rule_without_attribute_condition_is_refused():
    rule = RULE_SEMINAR.replace("seminar-attendee", "no-attrs").replace(
        "      attributes:\n        industry_in: target\n        title_level_at_least: manager\n", ""
    )
    error = issues_of(with_rule(rule))
    assert any(i.rule == "no-attrs" and "no attribute condition" in i.message for i in error.issues)


def test_rule_without_behaviour_is_refused_even_with_a_score():
    rule = (
        "  - name: fit-and-score\n    description: x\n    when:\n      attributes: {industry_in: target}\n"
        "      score: {min: 30}\n    next_checks: [Call.]\n"
    )
    error = issues_of(with_rule(rule))
    assert any(i.rule == "fit-and-score" and "no behaviour condition" in i.message for i in error.issues)


def test_page_views_alone_are_refused_as_behaviour():
    rule = RULE_SEMINAR.replace("seminar-attendee", "pricing-only").replace(
        "seminar_attended: {topics: any}", "page_visited: {paths: ['/pricing*'], min: 3}"
    )
    error = issues_of(with_rule(rule))
    assert any(i.rule == "pricing-only" and "page views alone" in i.message for i in error.issues)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "seminar_attended: {topics: any}",
            "seminar_attended: {topics: [crm-magic]}",
            "unknown topic 'crm-magic'",
        ),
        ("seminar_attended: {topics: any}", "webinar_watched: {topics: any}", "unknown behaviour condition"),
        ("seminar_attended: {topics: any}", "event: {name: Demo Requestd}", "unknown event 'Demo Requestd'"),
        (
            "seminar_attended: {topics: any}",
            "content_downloaded: {assets: [wp-nope]}",
            "unknown asset 'wp-nope'",
        ),
        ("title_level_at_least: manager", "seniority: manager", "unknown key 'seniority'"),
        ("title_level_at_least: manager", "title_level_at_least: boss", "unknown title level 'boss'"),
        ("industry_in: target", "industry_in: [farming]", "unknown industry 'farming'"),
        ("    next_checks:", "    nxt_checks: [x]\n    next_checks:", "unknown key 'nxt_checks'"),
    ],
)
def test_unknown_names_are_refused_naming_the_rule_and_line(old, new, expected):
    text = with_rule(RULE_SEMINAR.replace("seminar-attendee", "broken").replace(old, new))
    error = issues_of(text)
    matching = [i for i in error.issues if expected in i.message]
    assert matching, str(error)
    assert matching[0].rule == "broken"
    assert matching[0].line == line_of(text, new.strip().splitlines()[0].strip())


def test_unknown_top_level_and_scoring_keys_are_refused():
    text = DEFAULT_POLICY_TEXT.replace("half_life_days: 14", "half_life_dayz: 14").replace(
        "page_view: 1\n", "page_veiw: 1\n", 1
    )
    error = issues_of(text)
    messages = str(error)
    assert "unknown key 'half_life_dayz'" in messages
    assert "unknown activity kind 'page_veiw'" in messages
    assert any(i.line == line_of(text, "page_veiw") for i in error.issues)


def test_bad_yaml_reports_its_line():
    text = "version: '1'\nscoring:\n  points: {page_view: 1\n  half_life_days: 3\n"
    error = issues_of(text)
    assert "invalid YAML" in error.issues[0].message
    assert error.issues[0].line in (3, 4, 5)
    assert str(error).startswith("policies/x.yaml:")


def test_duplicate_keys_are_refused():
    text = DEFAULT_POLICY_TEXT.replace("half_life_days: 14", "half_life_days: 14\n  half_life_days: 7")
    assert "duplicate key 'half_life_days'" in str(issues_of(text))


@pytest.mark.parametrize("failure", [MemoryError, SystemError])
def test_running_out_of_memory_while_reading_is_not_called_a_bad_value(
    monkeypatch: pytest.MonkeyPatch, failure: type[Exception]
) -> None:
    """Under a simulation's memory cap an allocation can fail inside the YAML reader (MemoryError, or a
    SystemError from libyaml): that is the cap, not "invalid YAML value: " with nothing after it."""
    from services.common.policy import yaml_reader

    def exhausted(self: object, node: object) -> object:
        raise failure()

    monkeypatch.setattr(yaml_reader.PolicyLoader, "construct_document", exhausted)
    with pytest.raises(failure):
        load_policy(DEFAULT_POLICY_TEXT, "policies/x.yaml")
