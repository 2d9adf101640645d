"""An MQA's reasons in Japanese, from their codes and params, as the console shows them to sales."""

from __future__ import annotations

from services.common.policy import evaluate_account
from services.common.policy.model import in_language
from services.common.policy.reasons import render_reason
from tests.unit.common.policy.conftest import at
from tests.unit.common.policy.test_policy_accounts import account_of, quiet_group


def test_every_reason_of_an_mqa_reads_in_japanese_and_keeps_its_english_text(policy) -> None:  # type: ignore[no-untyped-def]
    mqa = evaluate_account(account_of(policy, *quiet_group(policy)), policy, at(days=4)).mqa
    assert mqa is not None
    topics = {t: in_language(label, "ja") for t, label in policy.topics.items()}
    reasons = {r["code"]: r for r in mqa.explanation["reasons"]}
    ja = {code: render_reason(r, "ja", topics) for code, r in reasons.items()}
    assert all(render_reason(r, "en") == r["text"] for r in reasons.values())
    assert ja["breadth"].startswith("30日以内に3名が接触：")
    assert all(e["who"] in ja["breadth"] for e in reasons["breadth"]["params"]["people"])
    assert ja["roles"] == "接触した人の中に決裁者（1名）がいます"
    assert ja["shared_topic"] == "2名が「リード管理とMQL設計」に接触"
    assert ja["industry"] == "業種：製造業（重点業種）"


def test_a_summed_account_score_reads_in_japanese() -> None:
    reason = {"code": "account_score", "params": {"value": 31.5, "min": 30, "components": {}}, "text": "x"}
    assert render_reason(reason, "ja") == "接触者の合計エンゲージメントスコア 31.5（条件は30以上）"
