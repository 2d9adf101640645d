"""The policy as sentences in English and Japanese: every kind of condition has its words in both, and the
default policy's vocabulary (industries, title levels, company sizes, topics) reads in Japanese."""

from __future__ import annotations

import re

from services.common.policy import describe_account_rules, describe_policy, load_policy
from services.common.policy.model import in_language
from tests.support import ROOT

ASCII_WORDS = re.compile(r"\b(?:when|and|or|works|has|title|level|any topic|times?)\b")


def default_policy():
    return load_policy((ROOT / "policies" / "default.yaml").read_text(encoding="utf-8"))


def test_each_rule_of_the_default_policy_is_one_japanese_sentence_with_its_vocabulary_in_japanese() -> None:
    sentences = describe_policy(default_policy(), "ja")
    assert sentences[0] == (
        "ルール「seminar-attendee」：既知のリードが次の条件をすべて満たすとMQLになります。"
        "セミナーに参加（テーマ問わず）／重点業種（製造業、ITサービス、ソフトウェア、金融、物流）／"
        "役職が課長クラス以上（営業の確認事項3件）。"
    )
    assert "同じテーマの資料を2点以上ダウンロード" in sentences[1]
    assert "資料をダウンロード（テーマ問わず）、かつページ /pricing* を閲覧" in sentences[2]
    assert "企業規模が中堅、大企業のいずれか／エンゲージメントスコア20以上" in sentences[2]
    assert (
        "「Demo Requested」が発生、またはフォーム contact-sales、demo-request のいずれかを送信"
        in sentences[3]
    )
    for sentence in sentences:  # no English word of the English sentences left in
        assert not ASCII_WORDS.search(sentence.replace("Demo Requested", "")), sentence


def test_the_english_sentences_stay_as_they_were() -> None:
    sentences = describe_policy(default_policy())
    assert sentences == describe_policy(default_policy(), "en")
    assert sentences[0].startswith(
        "Rule 'seminar-attendee' makes a known lead an MQL when it attended a seminar"
    )


def test_every_condition_kind_window_and_topic_reads_in_japanese() -> None:
    text = (ROOT / "policies" / "default.yaml").read_text(encoding="utf-8")
    rule = (
        "  - name: every-kind\n    description: all kinds\n    when:\n      within_days: 30\n"
        "      behaviour:\n        any_of:\n"
        "          - seminar_registered: {topics: [lead-management], min: 2}\n"
        "          - content_downloaded: {assets: [wp-lead-scoring, wp-mql-sql-guide], min: 3}\n"
        "          - all_of:\n              - page_visited: {paths: [/pricing*], min: 2}\n"
        "              - form_submitted: {}\n"
        "          - event: {name: Trial Started, min: 2}\n"
        "      attributes:\n        industry_in: [manufacturing, logistics]\n"
        "      score: {min: 30}\n    next_checks: [Call.]\n"
    )
    policy = load_policy(text.replace("rules:\n", "rules:\n" + rule, 1))
    sentence = describe_policy(policy, "ja")[0]
    label = in_language(policy.topics["lead-management"], "ja")
    assert sentence.startswith(
        "ルール「every-kind」：既知のリードが次の条件をすべて満たすとMQLになります。過去30日以内に"
    )
    for words in (
        f"セミナーに2回以上申し込み（テーマ：{label}）",
        "資料 wp-lead-scoring、wp-mql-sql-guide のいずれかを3回以上ダウンロード",
        "ページ /pricing* を2回以上閲覧、かつフォームを送信",
        "「Trial Started」が2回以上発生",
        "業種が製造業、物流のいずれか",
        "エンゲージメントスコア30以上",
        "（営業の確認事項1件）。",
    ):
        assert words in sentence, (words, sentence)


def test_the_default_account_rule_reads_in_japanese_with_its_roles_and_vocabulary() -> None:
    (sentence,) = describe_account_rules(default_policy(), "ja")
    assert sentence == (
        "アカウントルール「buying-group-forming」：企業が次の条件をすべて満たすとMQAになります。"
        "過去30日以内にページ閲覧以外の行動があった人が3人以上／その中に決裁者または推進者がいる／"
        "2人以上が同じテーマに関心／重点業種の企業（製造業、ITサービス、ソフトウェア、金融、物流）／"
        "企業規模が中小、中堅、大企業のいずれか（営業の確認事項3件）。"
    )
    assert not ASCII_WORDS.search(sentence)
    (english,) = describe_account_rules(default_policy())
    assert english.startswith("Account rule 'buying-group-forming' makes an account an MQA when at least 3")
