"""Identity stitching through the real worker: an email-only lead joins its user id later, an `alias`
merges a previous id, a shared device never merges two people, and unusable events are kept, not fatal."""

from __future__ import annotations

import json

from services.qualifier.stitching import lead_id_for
from tests.integration.qualifier.conftest import Qualifier, at, download, segment


async def test_email_then_user_id_is_one_lead(qualifier: Qualifier) -> None:
    traits = {"email": "Kim@Example.test", "title": "Head of Sales", "industry": "software"}
    await qualifier.publish(
        [
            download(at(0), "wp-lead-scoring", anon="a-mail"),
            segment("identify", at(1), anon="a-mail", traits=traits),  # known by email only
            download(at(2), "ebook-lead-nurturing", anon="a-mail"),
        ]
    )
    await qualifier.wait_stored(3)
    email_lead = lead_id_for("email:kim@example.test")
    first = await qualifier.lead(email_lead)
    assert (first["stage"], first["email"]) == ("mql", "kim@example.test")  # known by email: may qualify

    await qualifier.publish([segment("identify", at(3), user="u-kim", traits={"email": "kim@example.test"})])
    await qualifier.wait_stored(4)
    known = await qualifier.lead(lead_id_for("user:u-kim"))
    state = json.loads(known["state"])
    assert (known["user_id"], known["email"], known["episode"]) == ("u-kim", "kim@example.test", 1)
    assert state["identities"]["anonymous_ids"] == ["a-mail"] and state["counts"]["content_download"] == 2
    assert (await qualifier.lead(email_lead))["merged_into"] == known["lead_id"]
    assert await qualifier.count("SELECT count(*) FROM qualifier.mqls") == 1  # the merge is no new episode


async def test_alias_merges_the_previous_id(qualifier: Qualifier) -> None:
    await qualifier.publish(
        [
            segment("page", at(0), user="old-id", properties={"path": "/pricing"}),
            segment("alias", at(1), user="new-id", previousId="old-id"),
            segment("page", at(2), user="new-id", properties={"path": "/"}),
        ]
    )
    await qualifier.wait_stored(3)
    merged = await qualifier.lead(lead_id_for("user:new-id"))
    assert json.loads(merged["state"])["counts"]["page_view"] == 2
    assert (await qualifier.lead(lead_id_for("user:old-id")))["merged_into"] == merged["lead_id"]


async def test_shared_device_keeps_two_people_apart(qualifier: Qualifier) -> None:
    await qualifier.publish(
        [
            segment("identify", at(0), user="u-first", anon="a-shared", traits={"title": "CEO"}),
            segment("identify", at(5), user="u-second", anon="a-shared", traits={"title": "Engineer"}),
        ]
    )
    await qualifier.wait_stored(2)
    first, second = [await qualifier.lead(lead_id_for(f"user:{u}")) for u in ("u-first", "u-second")]
    assert first["merged_into"] is None and second["merged_into"] is None
    assert json.loads(first["state"])["attributes"]["title"] == "CEO"
    assert json.loads(second["state"])["attributes"]["title"] == "Engineer"


async def test_unusable_events_are_stored_and_ignored(qualifier: Qualifier) -> None:
    odd = [
        segment(
            "track", at(0), user="u-odd", event="Something Nobody Knows", properties={"x": [1, {"y": None}]}
        ),
        segment("track", at(1), user="u-odd", event="Content Downloaded"),  # no properties at all
        segment("track", at(2), user="u-odd", event="Seminar Attended", properties="not an object"),
        segment("screen", at(3), anon="a-odd", name=None, properties={"path": 42}),
        segment("group", at(4), user="u-odd", groupId="g1", traits={"industry": ["a", "list"]}),
    ]
    await qualifier.publish(odd)
    await qualifier.wait_stored(len(odd))
    lead = await qualifier.lead(lead_id_for("user:u-odd"))
    counts = json.loads(lead["state"])["counts"]
    assert counts["track"] == 3 and counts["group"] == 1 and lead["stage"] == "known"
    assert await qualifier.count("SELECT count(*) FROM qualifier.mqls") == 0
