"""Tracked behaviour through the real worker: explained MQLs on lead.mql, none from page views alone,
anonymous history stitched in when the lead identifies, and a redelivered envelope changes nothing.
The tests share one worker; each uses leads of its own."""

from __future__ import annotations

import json

import pytest

from services.qualifier.stitching import lead_id_for
from tests.integration.qualifier.conftest import (
    Qualifier,
    assert_valid_mql,
    at,
    download,
    identify,
    segment,
    seminar_attended,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_seminar_by_target_industry_manager_is_one_explained_mql(shared_qualifier: Qualifier) -> None:
    q = shared_qualifier
    seminar = seminar_attended(at(60), user="u-sem")
    await q.publish([identify(at(0), user="u-sem"), seminar])

    [mql] = await q.mqls(lead_id_for("user:u-sem"), expect=1)
    assert_valid_mql(mql)
    data = mql.data
    assert data["lead_id"] == lead_id_for("user:u-sem") and data["episode"] == 1
    assert data["rule"]["name"] == "seminar-attendee" and data["rule"]["description"]
    assert data["identities"]["user_id"] == "u-sem" and data["identities"]["email"] == "u-sem@example.test"
    assert data["attributes"]["industry"] == "manufacturing"
    assert data["attributes"]["title_level"] == "manager"
    evidence = [e for r in data["reasons"] for e in r["evidence"]]
    assert any(e["event_id"] == seminar.id and e.get("topic") == "lead-management" for e in evidence)
    assert all(r["text"] for r in data["reasons"])
    assert len(data["next_checks"]) == 3 and data["score"]["components"]["seminar_attended"] == 15
    assert data["qualified_at"] == at(60).isoformat()
    lead = await q.lead(data["lead_id"])
    assert (lead["stage"], lead["episode"]) == ("mql", 1)


async def test_page_views_alone_never_make_an_mql(shared_qualifier: Qualifier) -> None:
    q = shared_qualifier
    pages = [
        segment("page", at(i), user="u-pages", properties={"path": p})
        for i, p in enumerate(["/pricing", "/blog/mql-definition", "/product/features", "/pricing"] * 3)
    ]
    envelopes = [identify(at(-1), user="u-pages", title="CEO"), *pages]
    await q.publish(envelopes)
    await q.wait_stored(envelopes)

    lead_id = lead_id_for("user:u-pages")
    assert await q.registered(lead_id) == 0
    no_mql = "SELECT count(*) FROM qualifier.outbox WHERE key = $1 AND topic = $2"
    assert await q.count(no_mql, lead_id, q.topics.mql) == 0  # (its lead.updated rows are on lead.state)
    lead = await q.lead(lead_id)
    state = json.loads(lead["state"])
    assert lead["stage"] == "known" and state["counts"]["page_view"] == 12  # scored, known, not an MQL


async def test_anonymous_downloads_are_stitched_into_the_identified_lead(shared_qualifier: Qualifier) -> None:
    q = shared_qualifier
    anon = "a-stitch"
    downloads = [
        download(at(0), "wp-lead-scoring", anon=anon),
        download(at(5), "wp-mql-sql-guide", anon=anon),
    ]
    await q.publish(downloads)
    await q.wait_stored(downloads)
    assert await q.registered(lead_id_for(f"anon:{anon}")) == 0  # anonymous: never an MQL
    await q.publish([identify(at(10), user="u-stitch", anon=anon)])

    [mql] = await q.mqls(lead_id_for("user:u-stitch"), expect=1)
    assert_valid_mql(mql)
    assert mql.data["rule"]["name"] == "topic-researcher"
    assert mql.data["identities"]["anonymous_ids"] == [anon]
    evidence_ids = {e["event_id"] for r in mql.data["reasons"] for e in r["evidence"]}
    assert {d.id for d in downloads} <= evidence_ids
    assert (await q.lead(lead_id_for(f"anon:{anon}")))["merged_into"] == mql.data["lead_id"]
    # the whole history now belongs to the known lead
    query = "SELECT count(*) FROM qualifier.events WHERE lead_id = $1"
    assert await q.count(query, mql.data["lead_id"]) == 3


async def test_same_envelope_twice_is_one_event_and_one_mql(shared_qualifier: Qualifier) -> None:
    q = shared_qualifier
    envelopes = [identify(at(0), user="u-dup"), seminar_attended(at(30), user="u-dup")]
    await q.publish(envelopes)
    await q.wait_stored(envelopes)
    await q.publish(envelopes)  # redelivered / re-posted
    marker = segment("page", at(40), user="u-dup", properties={"path": "/"})
    await q.publish([marker])  # same partition: processed after the repeats
    await q.wait_stored([marker])

    assert await q.count("SELECT count(*) FROM qualifier.events WHERE event_id = $1", envelopes[1].id) == 1
    lead_id = lead_id_for("user:u-dup")
    assert await q.registered(lead_id) == 1
    [mql] = await q.mqls(lead_id, expect=1)
    assert mql.data["episode"] == 1 and (await q.lead(lead_id))["episode"] == 1
