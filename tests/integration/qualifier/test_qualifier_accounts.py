"""Accounts through the real worker: a quiet buying group becomes one explained MQA on lead.mql, a group
call wins over the email domain and moves the lead, free-mail people stay out, stitching carries the
account, person MQLs carry the account id, and a redelivery makes no second MQA.
The tests share one worker; each uses a company of its own."""

from __future__ import annotations

import json
import uuid

import jsonschema
import pytest

from services.common.db import create_engine
from services.common.envelope import Envelope, new_envelope
from services.common.policy_file import read_policy_file
from services.qualifier.mqa import mqa_id_for
from services.qualifier.replay import Rebuilt, rebuild
from services.qualifier.stitching import lead_id_for
from tests.integration.qualifier.conftest import (
    Qualifier,
    assert_valid_mql,
    at,
    download,
    segment,
    seminar_attended,
)
from tests.support import ROOT, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")
MQA_SCHEMA = json.loads((ROOT / "contracts/events/account.mqa.v1.schema.json").read_text())
DAY = 24 * 60


def person(when_min: float, user: str, domain: str, title: str, **traits: object) -> Envelope:
    traits = {
        "email": f"{user}@{domain}",
        "title": title,
        "industry": "manufacturing",
        "company": "Acme Works",
        "company_size": 250,
        **traits,
    }
    return segment("identify", at(when_min), user=user, traits=traits)


def group_call(when_min: float, group_id: str, **who: str) -> Envelope:
    traits = {"name": "Acme Holdings", "industry": "logistics", "employees": 1200, "plan": "enterprise"}
    return segment("group", at(when_min), groupId=group_id, traits=traits, **who)


async def replay(env: dict[str, str]) -> Rebuilt:
    """What `leadstate replay` makes of the log under the default policy (nothing written)."""
    policy = read_policy_file(ROOT / "policies/default.yaml").policy
    engine = create_engine(env["LEADSTATE_DATABASE_URL"], pool_size=1)
    try:
        async with engine.connect() as conn:
            return await rebuild(conn, policy)
    finally:
        await engine.dispose()


async def members(q: Qualifier, account_id: str) -> dict[str, str]:
    rows = await q.db.fetch(
        "SELECT lead_id, source FROM qualifier.account_members WHERE account_id = $1", account_id
    )
    return {r["lead_id"]: r["source"] for r in rows}


async def test_a_quiet_buying_group_becomes_one_explained_mqa(shared_qualifier: Qualifier) -> None:
    q, tag = shared_qualifier, uuid.uuid4().hex[:6]
    domain = f"acme-{tag}.example"
    account_id = f"domain:{domain}"
    people = [
        ("dir", "Director of Operations", "wp-lead-scoring"),
        ("mgr", "Marketing Manager", "wp-mql-sql-guide"),
    ]
    people.append(("eng", "Marketing Specialist", "ebook-ma-selection"))
    reads = [
        download(at(DAY * (i + 1)), asset, user=f"{who}-{tag}") for i, (who, _, asset) in enumerate(people)
    ]
    envelopes = [person(i, f"{who}-{tag}", domain, title) for i, (who, title, _) in enumerate(people)] + reads
    await q.publish(envelopes)

    [mqa] = await q.on_topic(q.topics.mql, account_id, expect=1)
    assert mqa.type == "leadstate.account.mqa.v1"
    jsonschema.validate(mqa.data, MQA_SCHEMA, format_checker=jsonschema.FormatChecker())
    data = mqa.data
    assert mqa.id == data["mqa_id"] == mqa_id_for(account_id, 1) and mqa.subject == account_id
    assert data["rule"]["name"] == "buying-group-forming" and data["episode"] == 1
    assert data["qualified_at"] == at(DAY * 3).isoformat()  # the event time of the third reader
    reasons = {r["code"]: r for r in data["reasons"]}
    assert {e["event_id"] for e in reasons["breadth"]["evidence"]} == {e.id for e in reads}
    assert reasons["roles"]["params"]["roles"] == {"decision_maker": [lead_id_for(f"user:dir-{tag}")]}
    assert reasons["shared_topic"]["params"]["topic"] == "lead-management"
    assert [m["role"] for m in data["buying_group"]["missing"]] == ["budget_holder"]
    assert "budget holder not yet seen" in data["buying_group"]["text"]
    assert {m["lead_id"] for m in data["members"]} == {lead_id_for(f"user:{w}-{tag}") for w, _, _ in people}
    account = await q.db.fetchrow(
        "SELECT stage, episode FROM qualifier.accounts WHERE account_id = $1", account_id
    )
    assert (account["stage"], account["episode"]) == ("mqa", 1)
    assert set((await members(q, account_id)).values()) == {"domain"}

    # a redelivery of the whole stream and a fourth reader: the open episode makes no second MQA
    more = [
        person(5, f"ops-{tag}", domain, "Engineer"),
        download(at(DAY * 4), "wp-cdp-basics", user=f"ops-{tag}"),
    ]
    await q.publish(envelopes + more)
    await q.wait_stored(more)
    assert await q.count("SELECT count(*) FROM qualifier.mqas WHERE account_id = $1", account_id) == 1
    await q.on_topic(q.topics.mql, account_id, expect=1)


async def test_group_call_wins_over_the_domain_and_moves_the_lead(shared_qualifier: Qualifier) -> None:
    q, tag = shared_qualifier, uuid.uuid4().hex[:6]
    domain, group_id = f"bolt-{tag}.example", f"crm-{tag}"
    lead = lead_id_for(f"user:kei-{tag}")
    first = [
        person(0, f"kei-{tag}", domain, "Director"),
        download(at(10), "wp-lead-scoring", user=f"kei-{tag}"),
    ]
    await q.publish(first)
    await q.wait_stored(first)
    assert await members(q, f"domain:{domain}") == {lead: "domain"}

    call = group_call(20, group_id, user=f"kei-{tag}")
    await q.publish([call])
    await q.wait_stored([call])
    assert await members(q, f"domain:{domain}") == {}
    assert await members(q, group_id) == {lead: "group"}
    row = await q.db.fetchrow("SELECT attributes FROM qualifier.accounts WHERE account_id = $1", group_id)
    attributes = json.loads(row["attributes"])
    assert (attributes["company"], attributes["industry"], attributes["group_plan"]) == (
        "Acme Holdings",
        "logistics",
        "enterprise",
    )


async def test_free_mail_people_are_in_no_account_and_stitching_carries_one(
    shared_qualifier: Qualifier,
) -> None:
    q, tag = shared_qualifier, uuid.uuid4().hex[:6]
    free = person(0, f"solo-{tag}", "gmail.com", "Director")
    anonymous = group_call(1, f"crm-anon-{tag}", anon=f"anon-{tag}")
    known = segment(
        "identify", at(2), user=f"aki-{tag}", anon=f"anon-{tag}", traits={"email": f"aki-{tag}@yahoo.co.jp"}
    )
    await q.publish([free, anonymous, known])
    await q.wait_stored([free, anonymous, known])
    assert (
        await q.count(
            "SELECT count(*) FROM qualifier.account_members WHERE lead_id = $1",
            lead_id_for(f"user:solo-{tag}"),
        )
        == 0
    )

    # the account commits with the events: the stitched lead is in the anonymous visitor's account
    assert list(await members(q, f"crm-anon-{tag}")) == [lead_id_for(f"user:aki-{tag}")]


async def test_person_mqls_carry_the_account_id(shared_qualifier: Qualifier) -> None:
    q, tag = shared_qualifier, uuid.uuid4().hex[:6]
    user = f"sem-{tag}"
    await q.publish(
        [person(0, user, f"corp-{tag}.example", "Sales Manager"), seminar_attended(at(60), user=user)]
    )
    [mql] = await q.mqls(lead_id_for(f"user:{user}"), expect=1)
    assert_valid_mql(mql)
    assert mql.data["account_id"] == f"domain:corp-{tag}.example"


async def test_a_decision_on_the_mqa_closes_its_episode_and_new_activity_opens_the_next(
    shared_qualifier: Qualifier, module_env: dict[str, str]
) -> None:
    q, tag = shared_qualifier, uuid.uuid4().hex[:6]
    domain = f"delta-{tag}.example"
    account_id = f"domain:{domain}"
    who = [("d", "Director"), ("m", "Sales Manager"), ("s", "Engineer")]
    people = [person(i, f"{w}-{tag}", domain, title) for i, (w, title) in enumerate(who)]
    reads = [download(at(DAY + i), "wp-lead-scoring", user=f"{w}-{tag}") for i, (w, _) in enumerate(who)]
    await q.publish(people + reads)
    [first] = await q.on_topic(q.topics.mql, account_id, expect=1)

    decision = new_envelope(
        "leadstate.account.decision.v1",
        {
            "decision_id": f"dec-{tag}",
            "account_id": account_id,
            "mqa_id": first.id,
            "episode": 1,
            "outcome": "recycled",
            "reason": {"code": "no_timing", "label": "No project in the foreseeable future"},
            "decided_by": "rep-1",
            "decided_at": at(DAY * 2).isoformat(),
            "policy_version": "2026.1",
            "rule": "buying-group-forming",
            "time_to_decision_s": 3600.0,
        },
        source="handoff",
        subject=account_id,
        time=at(DAY * 2),
        id_=f"dec-{tag}",
    )
    await q.publish([decision], topic=q.topics.decisions)

    async def recycled() -> bool:
        row = await q.db.fetchrow("SELECT stage FROM qualifier.accounts WHERE account_id = $1", account_id)
        return row["stage"] == "recycled"

    await wait_until(recycled, timeout_s=30, what="the account recycled by the decision")
    logged = await q.db.fetchrow(
        "SELECT lead_id, type FROM qualifier.events WHERE event_id = $1", decision.id
    )
    assert (logged["lead_id"], logged["type"]) == ("-", "account_decision")  # in the log, for replays

    # the members' events travel on different partitions: the one dated last may well arrive first.
    # Each is applied in a transaction of its own, latest-dated first, and the group still qualifies.
    again = [download(at(DAY * 3 + i), "wp-mql-sql-guide", user=f"{w}-{tag}") for i, (w, _) in enumerate(who)]
    for read in reversed(again):
        await q.publish([read])
        await q.wait_stored([read])
    mqas = await q.on_topic(q.topics.mql, account_id, expect=2)
    assert [m.id for m in mqas] == [mqa_id_for(account_id, 1), mqa_id_for(account_id, 2)]
    assert mqas[1].data["qualified_at"] == again[-1].time.isoformat()  # the account's latest activity
    breadth = next(r for r in mqas[1].data["reasons"] if r["code"] == "breadth")
    assert {e["event_id"] for e in breadth["evidence"]} == {e.id for e in again}  # only after the decision

    # `leadstate replay` folds the log, the decision included, to the same MQAs and account state
    replayed = await replay(module_env)
    assert {m for m, (a, _, _) in replayed.mqas.items() if a == account_id} == {m.id for m in mqas}
    mine = {account_id} | {lead_id_for(f"user:{w}-{tag}") for w, _ in who}
    assert [d for d in replayed.differences if d.lead_id in mine] == []


async def test_a_large_account_is_read_to_its_most_active_members_and_decides_as_if_whole(
    shared_qualifier: Qualifier, module_env: dict[str, str]
) -> None:
    """An account of 524 people: a transaction reads its most recently active members and the members
    whose traits describe the company, not all of them. The company name still comes from the person
    who gave it last (far down the activity order), the MQA still lists a budget holder who never did
    anything, and when that person leaves the account the next one's traits take over."""
    q, tag = shared_qualifier, uuid.uuid4().hex[:6]
    domain = f"big-{tag}.example"
    account_id = f"domain:{domain}"
    quiet = [person(1 + i, f"eng{i}-{tag}", domain, "Engineer") for i in range(519)]
    cfo = person(0, f"cfo-{tag}", domain, "CFO")  # the budget holder: identified first, never active
    second = person(600, f"second-{tag}", domain, "Engineer", company="Big Corp Second")
    namer = person(601, f"namer-{tag}", domain, "Engineer", company="Big Corp Renamed")
    await q.publish([cfo, *quiet, second, namer])
    await q.wait_stored([cfo, *quiet, second, namer])
    # 400 engineers read after that: the namer and the budget holder sink below the members the
    # rules read; without a decision maker or champion nothing qualifies yet
    reads = [download(at(DAY + i), "ebook-ma-selection", user=f"eng{i}-{tag}") for i in range(100, 500)]
    await q.publish(reads)
    await q.wait_stored(reads)
    where = "FROM qualifier.account_members WHERE account_id = $1"
    assert await q.count(f"SELECT count(*) {where}", account_id) == 522
    assert await q.count("SELECT count(*) FROM qualifier.mqas WHERE account_id = $1", account_id) == 0

    # a director who names no company
    traits = {"email": f"dir-{tag}@{domain}", "title": "Director of Operations"}
    boss = [segment("identify", at(DAY * 2), user=f"dir-{tag}", traits=traits)]
    boss += [download(at(DAY * 2 + 1), "ebook-ma-selection", user=f"dir-{tag}")]
    await q.publish(boss)
    [mqa] = await q.on_topic(q.topics.mql, account_id, expect=1)
    data = mqa.data
    assert data["account"]["attributes"]["company"] == "Big Corp Renamed"
    present = {p["role"]: p["members"] for p in data["buying_group"]["present"]}
    assert present["budget_holder"] == [lead_id_for(f"user:cfo-{tag}")]
    assert lead_id_for(f"user:dir-{tag}") in present["decision_maker"]  # (the CFO is one too)
    assert len(data["reasons"][0]["params"]["people"]) == 200  # the most recently active are read

    async def company() -> str:
        query = "SELECT attributes FROM qualifier.accounts WHERE account_id = $1"
        row = await q.db.fetchrow(query, account_id)
        return str(json.loads(row["attributes"])["company"])

    # one more reader: the account is saved from the members read, the company as before
    more = [download(at(DAY * 2 + 2), "ebook-ma-selection", user=f"eng5-{tag}")]
    await q.publish(more)
    await q.wait_stored(more)
    assert await company() == "Big Corp Renamed"

    # the namer moves to a group of its own: the company is described by the one who named it before
    call = group_call(DAY * 3, f"crm-{tag}", user=f"namer-{tag}")
    await q.publish([call])
    await q.wait_stored([call])
    assert await company() == "Big Corp Second"

    replayed = await replay(module_env)
    users = [f"eng{i}-{tag}" for i in range(519)] + [f"{w}-{tag}" for w in ("cfo", "second", "namer", "dir")]
    mine = {account_id, f"crm-{tag}"} | {lead_id_for(f"user:{u}") for u in users}
    assert [d for d in replayed.differences if d.lead_id in mine] == []
