from __future__ import annotations

import json

from services.common.policy import evaluate, explain
from tests.unit.common.policy.conftest import T0, act, at, attended, downloaded, fold, identify, page


def test_seminar_attendee_in_target_industry_with_manager_title_is_an_mql(policy):
    state = fold(policy, [page("/blog/ma-first-90-days", at(-2)), identify(at(-1)), attended(at(0))])
    result = evaluate(state, policy, at(0))
    assert result.mql is not None and result.mql.rule_name == "seminar-attendee"
    assert result.mql.episode == 1 and result.mql.policy_version == policy.version
    payload = result.mql.explanation
    texts = [r["text"] for r in payload["reasons"]]
    assert "Attended the seminar 'MA in practice' on marketing-automation on 2026-11-02" in texts
    assert "Works in manufacturing (a target industry)" in texts
    assert "Title 'Sales Manager' is at level manager (manager or above required)" in texts
    assert any(t.startswith("Engagement score ") and "seminar_attended 15" in t for t in texts)
    seminar = payload["reasons"][0]["evidence"][0]
    assert seminar["kind"] == "seminar_attended" and seminar["seminar_id"] == "sem-ma-in-practice"
    assert seminar["topic"] == "marketing-automation" and seminar["time"].startswith("2026-11-02")
    assert payload["next_checks"] == list(policy.rule("seminar-attendee").next_checks)
    assert payload["interests"][0]["topic"] == "marketing-automation"
    assert payload["interests"][0]["label"] == "Marketing automation"
    assert payload["attributes"]["title_level"] == "manager"
    assert payload["identities"]["email"] == "ken@acme.example"
    assert payload["score"]["components"]["seminar_attended"] == 15
    json.dumps(payload)  # goes onto Kafka as is


def test_two_downloads_on_one_topic_is_an_mql_with_both_assets_as_evidence(policy):
    state = fold(
        policy, [identify(), downloaded("wp-lead-scoring", at(1)), downloaded("wp-mql-sql-guide", at(2))]
    )
    mql = evaluate(state, policy, at(3)).mql
    assert mql is not None and mql.rule_name == "topic-researcher"
    reason = mql.explanation["reasons"][0]
    assert reason["text"].startswith("Downloaded 2 assets on lead-management")
    assert [e["asset_id"] for e in reason["evidence"]] == ["wp-lead-scoring", "wp-mql-sql-guide"]


def test_the_same_asset_twice_is_one_download(policy):
    state = fold(
        policy, [identify(), downloaded("wp-lead-scoring", at(1)), downloaded("wp-lead-scoring", at(2))]
    )
    result = evaluate(state, policy, at(3))
    assert result.mql is None
    researcher = next(r for r in result.results if r.rule_name == "topic-researcher")
    assert researcher.missing == ["needs 2 downloads on one topic on any topic, has 1 on lead-management"]


def test_page_views_alone_never_make_an_mql_even_with_perfect_attributes(policy):
    views = [
        page(p, at(minutes / 60))
        for minutes in range(1000)
        for p in ["/pricing", "/blog/mql-vs-sql", "/product/integrations"][minutes % 3 : minutes % 3 + 1]
    ]
    state = fold(policy, [identify(title="CEO", employees=5000), *views])
    result = evaluate(state, policy, at(1000))
    assert result.mql is None
    assert state.counts["page_view"] == 1000


def test_attributes_alone_never_make_an_mql(policy):
    state = fold(policy, [identify(title="Chief Revenue Officer", employees=5000)])
    result = evaluate(state, policy, at(1))
    assert result.mql is None
    assert all(not r.matched for r in result.results)


def test_wrong_industry_never(policy):
    state = fold(
        policy,
        [
            identify(industry="Education"),
            attended(at(1)),
            downloaded("wp-lead-scoring", at(2)),
            downloaded("wp-mql-sql-guide", at(3)),
        ],
    )
    result = evaluate(state, policy, at(4))
    assert result.mql is None
    seminar = result.results[0]
    assert seminar.missing == [
        "needs a target industry (manufacturing, it_services, software, financial_services, logistics), "
        "has education"
    ]


def test_staff_title_never(policy):
    state = fold(policy, [identify(title="Marketing Specialist"), attended(at(1))])
    result = evaluate(state, policy, at(2))
    assert result.mql is None
    assert (
        "needs title level manager or above, has staff ('Marketing Specialist')" in result.results[0].missing
    )


def test_student_has_no_level_and_never_qualifies(policy):
    state = fold(policy, [identify(title="学生"), attended(at(1))])
    result = evaluate(state, policy, at(2))
    assert result.mql is None
    assert "has an unrecognised title '学生'" in result.results[0].missing[0]


def test_anonymous_lead_never(policy):
    state = fold(
        policy,
        [
            act("identify", user_id=None, traits={"industry": "software", "title": "CEO"}),
            attended(at(1), user_id=None),
        ],
    )
    result = evaluate(state, policy, at(2))
    assert not state.known
    assert result.results[0].matched and result.mql is None
    assert "anonymous" in result.blocked


def test_japanese_titles_map_to_levels(policy):
    levels = {
        t: fold(policy, [identify(title=t)]).attributes["title_level"]
        for t in ["課長", "営業部長", "本部長", "取締役", "主任", "Head of Sales", "VP Sales"]
    }
    assert levels == {
        "課長": "manager",
        "営業部長": "director",
        "本部長": "executive",
        "取締役": "executive",
        "主任": "staff",
        "Head of Sales": "director",
        "VP Sales": "executive",
    }


def test_company_size_is_banded_from_numbers_and_band_names(policy):
    assert fold(policy, [identify(employees=250)]).attributes["company_size_band"] == "mid_market"
    state = fold(policy, [act("identify", traits={"email": "a@b.example", "company_size": "enterprise"})])
    assert state.attributes["company_size_band"] == "enterprise"


def test_explain_reports_the_score_components_capped_and_decayed(policy):
    state = fold(policy, [identify(), attended(at(0)), *[page("/blog/mql-vs-sql", at(0)) for _ in range(40)]])
    payload = explain(state, "seminar-attendee", policy, at(0))
    assert payload["score"] == {"value": 30.0, "components": {"page_view": 15.0, "seminar_attended": 15.0}}
    assert payload["rule"]["name"] == "seminar-attendee"
    assert payload["missing"] == []


def test_missing_properties_never_crash(policy):
    state = fold(
        policy,
        [
            identify(),
            act("track", "Content Downloaded"),
            act("track", None),
            act("page"),
            act("track", "Content Downloaded", topic=["odd"], asset_id={}),
        ],
    )
    result = evaluate(state, policy, T0)
    assert result.mql is None and len(result.results) == len(policy.rules)
    assert state.counts == {"identify": 1, "track": 3, "content_download": 2, "page": 1, "page_view": 1}
