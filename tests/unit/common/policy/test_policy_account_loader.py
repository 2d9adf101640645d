"""The `accounts:` and `account_rules:` sections: never a score alone, each refusal naming its line."""

from __future__ import annotations

from services.common.policy import load_policy
from tests.unit.common.policy.conftest import DEFAULT_POLICY_TEXT
from tests.unit.common.policy.test_policy_loader import issues_of, line_of

HEAD = DEFAULT_POLICY_TEXT.partition("\naccount_rules:")[0]


def when_line(text: str) -> int:
    """The line of the account rule's `when:` (the MQL rules above have their own)."""
    return len(text.partition("name: loud-account")[0].splitlines()) + 2


def with_account_rule(when: str) -> str:
    return (
        HEAD
        + "\naccount_rules:\n  - name: loud-account\n    description: x\n    when:\n"
        + when
        + "    next_checks: [Ask who else is involved.]\n"
    )


def test_a_rule_without_breadth_or_roles_is_refused_naming_its_line():
    text = with_account_rule(
        "      engaged: {within_days: 30}\n      attributes: {industry_in: target}\n      score: {min: 100}\n"
    )
    (issue,) = issues_of(text).issues
    assert issue.line == when_line(text) and issue.rule == "loud-account"
    assert "needs breadth" in issue.message and "a score alone never makes an MQA" in issue.message
    assert str(issues_of(text)).startswith(
        f"policies/x.yaml:{issue.line}: account_rules[0] 'loud-account': when:"
    )


def test_a_rule_without_attributes_is_refused():
    text = with_account_rule("      engaged: {within_days: 30}\n      breadth: {min_members: 3}\n")
    (issue,) = issues_of(text).issues
    assert "has no attribute condition" in issue.message and issue.line == when_line(text)


def test_unknown_roles_titles_on_accounts_and_bad_windows_are_refused():
    text = with_account_rule(
        "      engaged: {within_days: 900, kinds: [page_view, tweet]}\n"
        "      roles: {any_of: [ceo]}\n"
        "      attributes: {title_level_at_least: manager}\n"
    )
    messages = [i.message for i in issues_of(text).issues]
    assert any("at most 365 days" in m for m in messages)
    assert any("unknown activity kind 'tweet'" in m for m in messages)
    assert any("unknown role (define it under accounts.roles) 'ceo'" in m for m in messages)
    assert any("an account has no title" in m for m in messages)


def test_roles_and_free_mail_domains_are_checked():
    text = DEFAULT_POLICY_TEXT.replace("[example-isp.ne.jp]", "[example-isp.ne.jp, 'not a domain']").replace(
        "      title_levels: [staff]\n", "      title_levels: [intern]\n"
    )
    issues = issues_of(text).issues
    assert [i.line for i in issues] == sorted(
        [line_of(text, "free_mail_domains:"), line_of(text, "[intern]")]
    )


def test_a_policy_without_accounts_still_loads():
    bare = HEAD.partition("\n# Accounts (companies)")[0]
    policy = load_policy(bare)
    assert policy.accounts.rules == () and policy.accounts.roles == ()


def test_account_reason_codes_are_the_accounts_own_else_the_mql_ones(policy):
    assert next(r.code for r in policy.account_reason_codes("sql")) == "buying_group_confirmed"
    assert "recycle_missing_roles" in [r.code for r in policy.account_reason_codes("recycled")]
    assert policy.account_reason_codes("maybe") == ()
    bare = load_policy(HEAD.partition("\n# Accounts (companies)")[0])
    assert bare.account_reason_codes("sql") == bare.reason_codes("sql")
    text = DEFAULT_POLICY_TEXT.replace("{code: no_shared_project,", "{code: No-Shared,")
    (issue,) = issues_of(text).issues
    assert issue.path == "accounts.reasons.not_sql[0].code" and issue.line == line_of(text, "No-Shared")
