"""A policy is untrusted input: oversized or aliased documents are refused while they are read, each
with the line, and user-written patterns match in linear time (or are refused with the reason)."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.policy import PolicyError, load_policy
from services.common.policy.attributes import title_level
from services.common.policy.limits import MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_NODES, MAX_RULES
from services.common.policy.patterns import glob_matcher

from .hostile import (
    CATASTROPHIC,
    DEFAULT_POLICY_TEXT,
    billion_laughs,
    many_rules,
    ten_megabytes,
    with_title_patterns,
)

YAML_SNIPPETS = [
    "a: !!binary 'not base64!'",
    "a: 2026-02-30",
    "a: !!set {x, y}",
    "? [a, b]\n: c",
    "a: !!python/object:os.system x",
    "<<: {version: 1}",
    "version: " + "9" * 1999,
    "--- a\n--- b",
    "a: !!timestamp nope",
    "version: '1'\nrules: [{name: x, when: {behaviour: {page_visited: {paths: ['/[']}}}}]",
]


def refusal(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policy(text, "candidate")
    return caught.value


def test_the_billion_laughs_document_is_refused_at_its_first_anchor() -> None:
    text = billion_laughs()
    assert len(text.encode()) < 500
    (issue,) = refusal(text).issues
    assert issue.line == 2 and issue.path == "a0"
    assert "anchors and aliases" in issue.message


def test_an_alias_alone_is_refused_with_its_line() -> None:
    text = DEFAULT_POLICY_TEXT.replace("  company_size_bands:\n", "  company_size_bands: *bands\n", 1)
    (issue,) = refusal(text).issues
    assert "anchors and aliases" in issue.message
    assert issue.line == 1 + DEFAULT_POLICY_TEXT.splitlines().index("  company_size_bands:")


def test_a_ten_megabyte_document_is_refused_before_it_is_parsed() -> None:
    (issue,) = refusal(ten_megabytes()).issues
    assert issue.line == 1 and f"at most {MAX_DOCUMENT_BYTES} bytes" in issue.message


def test_ten_thousand_rules_are_refused_at_the_first_rule_over_the_bound() -> None:
    text = many_rules(10_000)
    assert len(text.encode()) <= MAX_DOCUMENT_BYTES  # refused for its shape, not its bytes
    (issue,) = refusal(text).issues
    assert issue.path == "rules" and f"more than {MAX_RULES} rules" in issue.message
    first_rules_line = text.splitlines().index("rules:") + 1
    assert issue.line == first_rules_line + MAX_RULES + 1  # the 201st item


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    text = DEFAULT_POLICY_TEXT + "description: " + "[" * 50_000 + "]" * 50_000 + "\n"
    (issue,) = refusal(text).issues
    assert f"deeper than {MAX_DEPTH} levels" in issue.message and issue.path.startswith("description")


def test_a_document_of_too_many_values_is_refused() -> None:
    values = ", ".join(["1"] * 900)
    text = "".join(f"k{i}: [{values}]\n" for i in range(MAX_NODES // 900 + 2))
    (issue,) = refusal(text).issues
    assert f"more than {MAX_NODES} values" in issue.message


def test_long_lists_and_values_are_refused_naming_their_path() -> None:
    checks = "".join(f"      - check {i}\n" for i in range(1_001))
    text = DEFAULT_POLICY_TEXT.replace("    next_checks:\n", "    next_checks:\n" + checks, 1)
    (issue,) = refusal(text).issues
    assert issue.path == "rules[0].next_checks" and "more than 1000 entries" in issue.message
    long = DEFAULT_POLICY_TEXT.replace("version:", f"description: {'x' * 3000}\nversion:", 1)
    (issue,) = refusal(long).issues
    assert issue.path == "description" and "3000 characters" in issue.message


@pytest.mark.timeout(60)  # a backtracking engine would hang here for ever: fail instead
@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_match_in_linear_time_over_a_long_title(pattern: str) -> None:
    policy = load_policy(with_title_patterns(pattern), "candidate")
    no_match, match = CATASTROPHIC[pattern]
    assert title_level(no_match, policy.fit) is None
    assert title_level(match, policy.fit) == "staff"
    assert title_level(no_match + " Sales Manager", policy.fit) == "manager"


def test_patterns_re2_cannot_run_are_refused_naming_the_pattern_and_why() -> None:
    err = refusal(with_title_patterns(r"(\w)\1", "(?=lead)er", "(?<!vice )president"))
    messages = [i.message for i in err.issues]
    assert len(messages) == 3 and all("fit.title_levels.staff" in i.path for i in err.issues)
    assert r"'(\\w)\\1'" in messages[0] and "backreferences" in messages[0]
    assert "'(?=lead)er'" in messages[1] and "lookaround" in messages[1]
    too_long = refusal(with_title_patterns("a" * 201)).issues[0]
    assert "201 characters (at most 200)" in too_long.message


def test_title_patterns_keep_their_case_insensitive_and_japanese_matches(policy) -> None:  # type: ignore[no-untyped-def]
    expected = {
        "営業担当": "staff",
        "情報システム部 部長": "director",
        "代表取締役社長": "executive",
        "開発マネージャー": "manager",
        "SENIOR ENGINEER": "staff",
        "Head of Marketing": "director",
        "cto": "executive",
        "Vice President, Sales": "executive",
        "Student": None,
    }
    assert {t: title_level(t, policy.fit) for t in expected} == expected


@pytest.mark.parametrize(
    "glob", ["/pricing*", "/product/*", "/docs/?.html", "/a[bc]d", "/a[!bc]d", "/x[", "/**/end", "/日本/*"]
)
def test_path_globs_answer_as_fnmatchcase(glob: str) -> None:
    paths = "/pricing /pricing/plans /Pricing /product/ /product/x/y /docs/a.html /docs/ab.html /abd /acd"
    paths += " /add /x[ /x /a/b/end /end /日本/語 /日本"
    matches = glob_matcher(glob)
    assert {p: bool(matches(p)) for p in paths.split()} == {p: fnmatchcase(p, glob) for p in paths.split()}


def test_an_invalid_path_glob_is_refused_with_the_reason() -> None:
    text = DEFAULT_POLICY_TEXT.replace("  page_points:\n", "  page_points:\n    '/a[z-a]': 1\n", 1)
    issues = refusal(text).issues
    assert any("'/a[z-a]'" in i.message and "range" in i.message for i in issues), issues


def test_explicit_tags_are_refused_with_their_line() -> None:
    (issue,) = refusal("version: '1'\ndescription: !!timestamp nope\n").issues
    assert issue.line == 2 and issue.path == "description" and "explicit tags" in issue.message


def test_a_control_character_is_an_issue_with_its_line() -> None:
    (issue,) = refusal("version: '1'\ndescription: \x9c\n").issues
    assert issue.line == 2 and "invalid YAML" in issue.message and "#x009c" in issue.message


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.sampled_from(YAML_SNIPPETS))
def test_any_text_is_a_policy_or_a_policy_error(text: str) -> None:
    """Whatever a client sends, the loader answers with issues, never another exception (a 500)."""
    try:
        load_policy(text, "candidate")
    except PolicyError as exc:
        assert exc.issues and all(i.line >= 1 for i in exc.issues)
