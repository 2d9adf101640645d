"""A rule's recency window (`when.within_days`): only behaviour of the last N days counts for it;
who the lead is and its score still use the whole history. Refused when not a positive number of at
most ten years."""

from __future__ import annotations

import pytest

from services.common.policy import describe_policy, evaluate, load_policy, qualify
from services.common.policy.rules import qualify_quietly
from tests.unit.common.policy.conftest import at, attended, fold, identify
from tests.unit.common.policy.test_policy_loader import RULE_SEMINAR, issues_of, with_rule

LEVEL = "        title_level_at_least: manager\n"
RECENT = RULE_SEMINAR.replace("seminar-attendee", "recent-attendee").replace(
    LEVEL, LEVEL + "      within_days: 30\n"
)


def recent_only():
    # the recency rule first, so that it names the MQL whenever it holds
    text = with_rule(RECENT)
    head, _, rules = text.partition("\nrules:\n")
    body, sep, tail = rules.partition("\n# The reasons sales picks from")
    first_rule = RECENT.rstrip("\n")
    body = body.replace(first_rule + "\n", "").replace(first_rule, "")
    policy = load_policy(head + "\nrules:\n" + first_rule + "\n" + body + sep + tail, "recent.yaml")
    assert policy.rules[0].name == "recent-attendee" and policy.rules[0].within_days == 30
    return policy


def test_behaviour_older_than_the_window_does_not_count_for_that_rule():
    policy = recent_only()
    state = fold(policy, [identify(at(days=-1)), attended(at(0))])
    for later, named in ((10, "recent-attendee"), (31, "seminar-attendee")):
        result = evaluate(state, policy, at(days=later))
        recent = next(r for r in result.results if r.rule_name == "recent-attendee")
        assert recent.matched is (later <= 30)
        assert result.mql is not None and result.mql.rule_name == named
        for decide in (qualify, qualify_quietly):
            mql = decide(state, policy, at(days=later))[1]
            assert mql is not None and mql.rule_name == named
    results = evaluate(state, policy, at(days=31)).results
    missing = next(r for r in results if r.rule_name == "recent-attendee")
    assert missing.missing == ["needs 1 seminar(s) attended on any topic in the last 30 days, has 0"]
    assert "attended a seminar on any topic in the last 30 days" in describe_policy(policy)[0]


@pytest.mark.parametrize("days", ["0", "-3", "4000", "soon"])
def test_a_window_that_is_not_a_positive_number_of_days_is_refused(days: str):
    error = issues_of(with_rule(RECENT.replace("within_days: 30", f"within_days: {days}")))
    assert any(i.rule == "recent-attendee" and "within_days" in i.path for i in error.issues), error
