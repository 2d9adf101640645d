"""Reasons rendered in Japanese and English from their codes; policy words per language."""

from __future__ import annotations

import pickle

import pytest

from services.common.policy import load_policy
from services.common.policy.explain import explain
from services.common.policy.model import Label, in_language
from services.common.policy.reasons import render_reason

from .conftest import DEFAULT_POLICY_TEXT, act, at, attended, downloaded, fold, identify, page


def _mql(policy, rule, activities):
    return explain(fold(policy, activities), rule, policy, at(1))


def test_every_reason_of_every_default_rule_carries_a_code_and_params_and_renders_in_english_as_its_text(
    policy,
):
    cases = {
        "seminar-attendee": [identify(), attended(at(0))],
        "topic-researcher": [identify(), downloaded("wp-lead-scoring"), downloaded("wp-mql-sql-guide")],
        "pricing-after-content": [
            identify(title="Director of Sales", employees=2000),
            downloaded("ebook-ma-selection"),
            attended(at(0)),
            page("/pricing", at(0.5)),
        ],
        "hand-raiser": [identify(), act("track", "Demo Requested")],
    }
    for rule, activities in cases.items():
        payload = _mql(policy, rule, activities)
        for reason in payload["reasons"]:
            assert reason["code"], (rule, reason)
            assert render_reason(reason, "en") == reason["text"], (rule, reason)
            assert render_reason(reason, "ja") != reason["text"], (rule, reason)


def test_japanese_reasons_read_as_sentences_for_sales(policy):
    payload = _mql(policy, "seminar-attendee", [identify(title="営業課長"), attended(at(0))])
    topics = {t: in_language(label, "ja") for t, label in policy.topics.items()}
    ja = [render_reason(r, "ja", topics) for r in payload["reasons"]]
    assert ja[0] == "2026年11月2日にセミナー「MA in practice」（マーケティングオートメーション）に参加"
    assert ja[1] == "業種：製造業（重点業種）"
    assert ja[2] == "役職「営業課長」は課長クラス（条件は課長クラス以上）"
    assert ja[3] == "エンゲージメントスコア 14.97（内訳：セミナー参加 14.97）"


def test_downloads_on_one_topic_in_both_languages():
    reason = {
        "code": "downloads_on_topic",
        "params": {
            "count": 2,
            "topic": "lead-management",
            "items": [
                {"name": "MQL guide", "topic": "lead-management", "day": "2026-11-14"},
                {"name": "Scoring", "topic": "lead-management", "day": "2026-11-15"},
            ],
        },
        "text": "stored",
    }
    assert render_reason(reason, "en") == (
        "Downloaded 2 assets on lead-management: 'MQL guide' (2026-11-14), 'Scoring' (2026-11-15)"
    )
    assert render_reason(reason, "ja", {"lead-management": "リード管理"}) == (
        "「リード管理」の資料を2点ダウンロード："
        "「MQL guide」（2026年11月14日）、「Scoring」（2026年11月15日）"
    )


@pytest.mark.parametrize(
    "reason",
    [
        {"text": "Attended the seminar 'x' on 2026-01-01"},  # an event written before codes existed
        {"code": "from_a_newer_producer", "params": {}, "text": "kept"},
        {"code": "downloads_on_topic", "params": {"count": 2}, "text": "kept"},  # params incomplete
    ],
)
def test_a_reason_without_a_known_code_keeps_its_stored_text(reason):
    assert render_reason(reason, "ja") == reason["text"]
    assert render_reason(reason, "en") == reason["text"]


def test_the_shipped_policy_speaks_japanese_and_english_everywhere(policy):
    words = [*policy.topics.values()]
    words += [r.label for r in (*policy.sql_reasons, *policy.not_sql_reasons)]
    for rule in policy.rules:
        words += [rule.description, *rule.next_checks]
    for word in words:
        assert isinstance(word, Label), word
        assert word.missing(("ja", "en")) == [], word
    no_budget = next(r for r in policy.not_sql_reasons if r.code == "no_budget")
    assert (in_language(no_budget.label, "ja"), in_language(no_budget.label, "en")) == (
        "予算なし",
        "No budget",
    )


def test_a_plain_string_label_still_works_and_an_unknown_language_is_refused_with_its_line():
    plain = DEFAULT_POLICY_TEXT.replace("label: {ja: 予算なし, en: No budget}", "label: No budget")
    assert plain != DEFAULT_POLICY_TEXT
    label = next(r.label for r in load_policy(plain).not_sql_reasons if r.code == "no_budget")
    assert (label, in_language(label, "ja")) == ("No budget", "No budget")
    bad = DEFAULT_POLICY_TEXT.replace("label: {ja: 予算なし, en: No budget}", "label: {fr: Pas de budget}")
    with pytest.raises(ValueError, match=r"reasons.not_sql\[1\].label.fr: unknown language 'fr'"):
        load_policy(bad)


def test_a_label_survives_pickling_and_copying(policy):
    label = policy.rules[0].next_checks[0]
    copy = pickle.loads(pickle.dumps(label))
    assert (copy, copy.texts) == (label, label.texts) and isinstance(copy, Label)
