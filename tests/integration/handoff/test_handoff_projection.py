"""Projecting lead.mql: redelivery changes nothing, and a malformed MQL goes to the dead-letter topic
with its reason while the next valid one is still projected."""

from __future__ import annotations

import orjson
from sqlalchemy import select

from services.handoff.tables import mqls
from tests.integration.handoff.data import mql_envelope
from tests.support import publish, read_topic


async def _mql_ids(handoff) -> list[str]:  # type: ignore[no-untyped-def]
    async with handoff.app.state.handoff.database.engine.connect() as conn:
        return list((await conn.scalars(select(mqls.c.mql_id).order_by(mqls.c.mql_id))).all())


async def test_the_same_envelope_twice_is_one_row(handoff) -> None:  # type: ignore[no-untyped-def]
    envelope = mql_envelope("twice")
    # The same MQL again under another envelope id (a producer retry after a crash) is also one row.
    same_mql = mql_envelope("twice")
    marker = mql_envelope("after")
    await handoff.publish_mqls([envelope, envelope, same_mql, marker], expect_rows=2)

    assert await _mql_ids(handoff) == ["after:1", "twice:1"]
    items = (await handoff.client.get("/v1/mqls")).json()["items"]
    assert sorted(i["lead_id"] for i in items) == ["after", "twice"]


async def test_a_malformed_mql_is_dead_lettered_and_the_next_one_projected(handoff) -> None:  # type: ignore[no-untyped-def]
    broken = mql_envelope("broken")
    del broken.data["next_checks"]  # an MQL must say what sales should check next
    broken.data["episode"] = 0
    valid = mql_envelope("valid")
    await publish(handoff.bootstrap, handoff.topics.mql, [broken, b"{not json", valid])
    await handoff.publish_mqls([], expect_rows=1)

    assert await _mql_ids(handoff) == ["valid:1"]
    dead = [
        orjson.loads(v) for v in await read_topic(handoff.bootstrap, handoff.topics.dead_letter, expect=2)
    ]
    assert len(dead) == 2
    by_key = {d["key"]: d for d in dead}
    reason = by_key["broken"]["reason"]
    assert "leadstate.lead.mql.v1" in reason and "next_checks" in reason and "episode" in reason
    assert by_key["broken"]["consumer"] == "handoff" and by_key["broken"]["topic"] == handoff.topics.mql
    assert any("not JSON" in d["reason"] for d in dead)
