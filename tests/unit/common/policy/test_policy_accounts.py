"""Accounts in the pure core: membership, roles, account rules and the explained MQA."""

from __future__ import annotations

from services.common.policy import (
    AccountState,
    LeadState,
    apply_account_decision,
    buying_group,
    evaluate_account,
    member_from_lead,
    membership,
    merge_states,
    qualify_account,
)
from tests.unit.common.policy.conftest import act, at, downloaded, fold, identify


def person(policy, lead_id, email, title, *activities, industry="manufacturing", employees=250):
    who = identify(at(), email=email, title=title, industry=industry, employees=employees, user_id=lead_id)
    return fold(policy, [who, *activities], LeadState.new(lead_id))


def group_call(group_id, time, user_id, **traits):
    return act("group", time=time, user_id=user_id, traits=traits, groupId=group_id)


def read(asset, days, user_id):
    return downloaded(asset, at(days=days), user_id=user_id)


def account_of(policy, *leads, **kw):
    return AccountState(
        account_id="domain:acme.example", members=tuple(member_from_lead(s, policy) for s in leads), **kw
    )


def quiet_group(policy):
    """Three people of one company, each reading a little: no lead rule fires for any of them."""
    return (
        person(policy, "u1", "aiko@acme.example", "Director of Operations", read("wp-lead-scoring", 1, "u1")),
        person(policy, "u2", "ben@acme.example", "Marketing Manager", read("wp-mql-sql-guide", 2, "u2")),
        person(
            policy, "u3", "chie@acme.example", "Marketing Specialist", read("ebook-ma-selection", 3, "u3")
        ),
    )


def test_membership_group_call_wins_over_the_email_domain(policy):
    lead = person(policy, "u1", "aiko@acme.example", "Director")
    assert membership(lead, policy).account_id == "domain:acme.example"
    moved = fold(
        policy, [group_call("crm-acme-1", at(days=1), "u1", name="Acme Works K.K.", plan="enterprise")], lead
    )
    assert (membership(moved, policy).account_id, membership(moved, policy).source) == ("crm-acme-1", "group")
    # an earlier group call folded later (replay order) does not undo the later one: latest event time wins
    older = fold(policy, [group_call("crm-old", at(hours=1), "u1")], moved)
    assert membership(older, policy).account_id == "crm-acme-1"


def test_free_mail_people_never_form_an_account(policy):
    for email in (
        "ken@gmail.com",
        "KEN@Yahoo.co.jp",
        "x@sub.docomo.ne.jp",
        "y@example-isp.ne.jp",
        "no-domain",
    ):
        assert membership(person(policy, "u9", email, "Director"), policy) is None, email
    grouped = fold(
        policy, [group_call("crm-9", at(days=1), "u9")], person(policy, "u9", "k@gmail.com", "Director")
    )
    assert membership(grouped, policy).account_id == "crm-9"  # a group call places even a free-mail person


def test_stitching_carries_the_account(policy):
    anonymous = fold(policy, [group_call("crm-acme-1", at(), None, name="Acme")], LeadState.new("anon"))
    known = person(policy, "u1", "k@gmail.com", "Director")
    assert membership(merge_states(known, anonymous, policy), policy).account_id == "crm-acme-1"


def test_roles_from_title_levels_patterns_and_departments(policy):
    cfo = member_from_lead(person(policy, "u1", "a@acme.example", "CFO"), policy)
    assert cfo.roles == ("decision_maker", "budget_holder")
    clerk = fold(policy, [act("identify", user_id="u2", traits={"title": "Clerk", "department": "Finance"})])
    assert member_from_lead(clerk, policy).roles == ("budget_holder",)
    assert member_from_lead(person(policy, "u3", "c@acme.example", "経理課長"), policy).roles == (
        "budget_holder",
        "champion",
    )


def test_a_quiet_buying_group_becomes_an_explained_mqa(policy):
    leads = quiet_group(policy)
    account = account_of(policy, *leads)
    evaluation = evaluate_account(account, policy, at(days=4))
    mqa = evaluation.mqa
    assert mqa is not None and mqa.rule_name == "buying-group-forming" and mqa.episode == 1
    reasons = {r["code"]: r for r in mqa.explanation["reasons"]}
    assert list(reasons) == ["breadth", "roles", "shared_topic", "industry", "company_size"]
    assert reasons["breadth"]["params"]["count"] == 3
    assert {e["event_id"] for e in reasons["breadth"]["evidence"]} == {s.signals[0].event_id for s in leads}
    assert reasons["roles"]["params"]["roles"] == {"decision_maker": ["u1"]}
    assert reasons["shared_topic"]["params"]["topic"] == "lead-management"
    assert reasons["shared_topic"]["params"]["people"] == ["u1", "u2"]
    group = mqa.explanation["buying_group"]
    assert [p["role"] for p in group["present"]] == ["decision_maker", "champion", "user"]
    assert [m["role"] for m in group["missing"]] == ["budget_holder"]
    assert group["text"] == "buying group: decision maker ✓, budget holder not yet seen, champion ✓, user ✓"
    assert "introduce the roles not yet seen" in mqa.explanation["next_checks"][1]
    # most engaged first: three equal downloads, so the most recent (decayed least) leads
    assert [m["lead_id"] for m in mqa.explanation["members"]] == ["u3", "u2", "u1"]
    assert mqa.explanation["account"]["name"] == "Acme Works"


def test_missing_conditions_are_said_and_nothing_fires(policy):
    leads = quiet_group(policy)
    late = evaluate_account(account_of(policy, *leads), policy, at(days=40))  # window passed
    (result,) = late.results
    assert late.mqa is None and not result.matched
    assert next(c.text for c in result.checks if not c.ok) == "needs 3 engaged people within 30 days, has 0"
    staff_only = [
        person(policy, f"s{i}", f"s{i}@acme.example", "Engineer", read("wp-lead-scoring", i, f"s{i}"))
        for i in range(3)
    ]
    (result,) = evaluate_account(account_of(policy, *staff_only), policy, at(days=4)).results
    assert [c.text for c in result.checks if not c.ok] == [
        "needs decision maker or champion among the engaged people, has none"
    ]
    retail = [person(policy, s.lead_id, s.email, "Director", industry="retail") for s in leads]
    assert buying_group(account_of(policy, *retail).members, policy)["missing"][0]["role"] == "budget_holder"


def test_one_mqa_per_episode_and_a_new_one_only_after_a_decision_and_new_activity(policy):
    account = account_of(policy, *quiet_group(policy))
    opened, mqa = qualify_account(account, policy, at(days=4))
    assert mqa is not None and opened.stage == "mqa" and opened.episode == 1
    assert qualify_account(opened, policy, at(days=5)) == (opened, None)
    recycled = apply_account_decision(opened, "recycled", at(days=6), episode=1)
    assert recycled.stage == "recycled"
    assert qualify_account(recycled, policy, at(days=7))[1] is None  # the same reading does not count twice
    assert apply_account_decision(opened, "sql", at(days=6), episode=7) == opened  # a stale episode
