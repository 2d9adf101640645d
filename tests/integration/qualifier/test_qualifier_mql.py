"""Tracked behaviour through the real worker: explained MQLs on lead.mql, none from page views alone,
anonymous history stitched in when the lead identifies, and a redelivered envelope changes nothing."""

from __future__ import annotations

import json

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
from tests.support import read_envelopes


async def test_seminar_by_target_industry_manager_is_one_explained_mql(qualifier: Qualifier) -> None:
    await qualifier.publish([identify(at(0), user="u-sem"), seminar_attended(at(60), user="u-sem")])

    [mql] = await read_envelopes(qualifier.bootstrap, qualifier.topics.mql, expect=1)
    assert_valid_mql(mql)
    data = mql.data
    assert data["lead_id"] == lead_id_for("user:u-sem") and data["episode"] == 1
    assert data["rule"]["name"] == "seminar-attendee" and data["rule"]["description"]
    assert data["identities"]["user_id"] == "u-sem" and data["identities"]["email"] == "u-sem@example.test"
    assert (
        data["attributes"]["industry"] == "manufacturing" and data["attributes"]["title_level"] == "manager"
    )
    evidence = [e for r in data["reasons"] for e in r["evidence"]]
    assert any(e["event_id"] == "m-track-" + str(at(60).timestamp()) + "-u-sem" for e in evidence)
    assert any(e.get("topic") == "lead-management" for e in evidence)
    assert len(data["next_checks"]) == 3 and data["score"]["components"]["seminar_attended"] == 15
    assert data["qualified_at"] == at(60).isoformat()
    lead = await qualifier.lead(data["lead_id"])
    assert (lead["stage"], lead["episode"]) == ("mql", 1)


async def test_page_views_alone_never_make_an_mql(qualifier: Qualifier) -> None:
    pages = [
        segment("page", at(i), user="u-pages", properties={"path": p})
        for i, p in enumerate(["/pricing", "/blog/mql-definition", "/product/features", "/pricing"] * 3)
    ]
    await qualifier.publish([identify(at(-1), user="u-pages", title="CEO"), *pages])
    await qualifier.wait_stored(13)

    assert await qualifier.count("SELECT count(*) FROM qualifier.mqls") == 0
    assert await qualifier.count("SELECT count(*) FROM qualifier.outbox") == 0
    lead = await qualifier.lead(lead_id_for("user:u-pages"))
    state = json.loads(lead["state"])
    assert lead["stage"] == "known" and state["counts"]["page_view"] == 12  # scored, known, not an MQL


async def test_anonymous_downloads_are_stitched_into_the_identified_lead(qualifier: Qualifier) -> None:
    anon = "a-stitch"
    downloads = [
        download(at(0), "wp-lead-scoring", anon=anon),
        download(at(5), "wp-mql-sql-guide", anon=anon),
    ]
    await qualifier.publish(downloads)
    await qualifier.wait_stored(2)
    assert await qualifier.count("SELECT count(*) FROM qualifier.mqls") == 0  # anonymous: never an MQL
    await qualifier.publish([identify(at(10), user="u-stitch", anon=anon)])

    [mql] = await read_envelopes(qualifier.bootstrap, qualifier.topics.mql, expect=1)
    assert_valid_mql(mql)
    assert mql.data["rule"]["name"] == "topic-researcher"
    assert mql.data["lead_id"] == lead_id_for("user:u-stitch")
    assert mql.data["identities"]["anonymous_ids"] == [anon]
    evidence_ids = {e["event_id"] for r in mql.data["reasons"] for e in r["evidence"]}
    assert {d.id for d in downloads} <= evidence_ids
    anon_lead = await qualifier.lead(lead_id_for(f"anon:{anon}"))
    assert anon_lead["merged_into"] == mql.data["lead_id"]
    # the whole history now belongs to the known lead
    assert (
        await qualifier.count("SELECT count(*) FROM qualifier.events WHERE lead_id = $1", mql.data["lead_id"])
        == 3
    )


async def test_same_envelope_twice_is_one_event_and_one_mql(qualifier: Qualifier) -> None:
    envelopes = [identify(at(0), user="u-dup"), seminar_attended(at(30), user="u-dup")]
    await qualifier.publish(envelopes)
    await qualifier.wait_stored(2)
    await qualifier.publish(envelopes)  # redelivered / re-posted
    marker = segment("page", at(40), user="u-dup", properties={"path": "/"})
    await qualifier.publish([marker])  # same partition: processed after the repeats
    await qualifier.wait_stored(3)

    assert (
        await qualifier.count("SELECT count(*) FROM qualifier.events WHERE event_id = $1", envelopes[1].id)
        == 1
    )
    assert await qualifier.count("SELECT count(*) FROM qualifier.mqls") == 1
    mqls = await read_envelopes(qualifier.bootstrap, qualifier.topics.mql, expect=1)
    assert len(mqls) == 1
    lead = await qualifier.lead(lead_id_for("user:u-dup"))
    assert lead["episode"] == 1
