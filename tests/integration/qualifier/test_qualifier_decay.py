"""lead.updated with no new event, through the real worker and broker: a lead whose score band drops only
through time, and a change the rate limit held back, reach lead.state by the worker's sweep, as of the
moment they fell due; the stored views, the sweep's marks and a replay of the log agree."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from services.common.db import create_engine
from services.common.policy import LeadState
from services.common.policy.scoring import score_at
from services.common.policy_file import settings_policy
from services.common.settings import Settings
from services.qualifier import sweep
from services.qualifier.replay import rebuild
from services.qualifier.stitching import lead_id_for
from tests.conftest import Topics
from tests.integration.qualifier.conftest import (
    Qualifier,
    download,
    identify,
    running_qualifier,
    seminar_attended,
)

# ten days ago: a hot lead of then has cooled to warm since (half-life 14 days), with no event since
T0 = (datetime.now(UTC) - timedelta(days=10)).replace(second=0, microsecond=0)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
async def sweeping(
    settings: Settings, kafka_bootstrap: str, topics: Topics, database_url: str
) -> AsyncIterator[Qualifier]:
    fast = settings.model_copy(update={"qualifier_sweep_s": 0.5, "outbox_poll_s": 0.2})
    async with running_qualifier(fast, kafka_bootstrap, topics, database_url) as q:
        yield q


async def test_a_band_that_drops_with_time_alone_is_published(
    sweeping: Qualifier, settings: Settings
) -> None:
    q = sweeping
    hot, held = lead_id_for("user:u-cools"), lead_id_for("user:u-held")
    events = [
        identify(at(0), user="u-cools"),
        download(at(1), "guide-crm-integration", user="u-cools"),
        download(at(2), "whitepaper-data-pipelines", user="u-cools"),
        seminar_attended(at(3), user="u-cools"),  # the MQL (a stage change: at once), hot
        identify(at(0), user="u-held"),
        download(at(2), "guide-crm-integration", user="u-held"),  # warm 2 minutes after: held back
    ]
    await q.publish(events)

    cooled = await q.on_topic(q.topics.state, hot, expect=3, timeout_s=60)
    assert [(u.data["stage"], u.data["score_band"]) for u in cooled] == [
        ("known", "cold"),
        ("mql", "hot"),
        ("mql", "warm"),
    ]
    last = cooled[-1]
    assert last.data["changed"] == ["score_band"] and last.data["score"] < 30
    dropped = datetime.fromisoformat(last.data["updated_at"])
    assert at(3) < dropped < datetime.now(UTC) and last.time == dropped
    state = LeadState.from_dict(json.loads((await q.lead(hot))["state"]))
    policy = settings_policy(settings)
    assert score_at(state.scores, policy, dropped - timedelta(seconds=1)) >= 30  # the first second below

    released = await q.on_topic(q.topics.state, held, expect=3, timeout_s=60)
    assert [(u.data["score_band"], u.data["updated_at"]) for u in released[:2]] == [
        ("cold", at(0).isoformat()),
        ("warm", at(10).isoformat()),  # when the interval ended, though the lead never came back
    ]
    assert released[2].data["score_band"] == "cold"  # 10 points decay below warm's floor at once
    assert datetime.fromisoformat(released[2].data["updated_at"]) >= at(20)  # the interval again

    row = await q.db.fetchrow(
        "SELECT published_at, due_at FROM qualifier.lead_changelog WHERE lead_id = $1", hot
    )
    assert row["published_at"] == dropped and row["due_at"] > datetime.now(UTC)  # next: warm to cold

    looked = await q.count("SELECT count(*) FROM qualifier.sweeps WHERE lead_id = ANY($1)", [hot, held])
    assert looked >= 2  # each look recorded where it happened in the log, for the replay
    engine = create_engine(settings.require_database_url(), pool_size=1)
    try:
        async with engine.connect() as conn:
            result = await rebuild(conn, policy)
            # the log and the published views were read in one snapshot: a sweep committing between
            # the two reads would otherwise look like a difference (seen in the long chaos runs)
            isolation = await conn.scalar(text("SELECT current_setting('transaction_isolation')"))
            sent = await conn.scalar(
                text("SELECT count(*) FROM qualifier.outbox WHERE topic = :t"), {"t": q.topics.state}
            )
    finally:
        await engine.dispose()
    assert result.differences == []  # the replay looked where the sweep did: the same last views
    assert isolation == "repeatable read"
    assert result.updates == sent == 6


async def test_a_look_that_changes_a_view_moves_the_leads_row_version(
    settings: Settings, kafka_bootstrap: str, topics: Topics, database_url: str
) -> None:
    """Another member that read the lead before the look (a decision on its lead.decisions partition, a
    merge across partitions) must fail its version check and apply again after the look, or it would
    overwrite the look's view with one made from the older view (the scale-out chaos run saw it). The
    sweeping member keeps the lead cached with the new version: its own next write is not stale."""
    by_hand = settings.model_copy(update={"qualifier_sweep_s": 0, "outbox_poll_s": 0.2})
    async with running_qualifier(by_hand, kafka_bootstrap, topics, database_url) as q:
        lead_id = lead_id_for("user:u-looked")
        events = [
            identify(at(0), user="u-looked"),
            download(at(1), "guide-crm-integration", user="u-looked"),
            download(at(2), "whitepaper-data-pipelines", user="u-looked"),
            seminar_attended(at(3), user="u-looked"),  # hot then; warm by now: due, no sweep ran
        ]
        await q.publish(events)
        await q.wait_stored(events)
        before = (await q.lead(lead_id))["version"]
        member = q.app.state.worker._consumer  # the member's own sweep, run once by hand
        published = await member.sweep.run(member.sessions, member.offsets, member.positions)

        assert published >= 1
        after = (await q.lead(lead_id))["version"]
        assert after > before
        assert member.qualify.cache.lead(lead_id).version == after
        warm = await q.on_topic(q.topics.state, lead_id, expect=3, timeout_s=60)
        assert warm[-1].data["score_band"] == "warm"


async def test_a_sweep_larger_than_a_batch_goes_on_between_the_streams_transactions(
    settings: Settings,
    kafka_bootstrap: str,
    topics: Topics,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five leads fall due at once and a sweep takes two a transaction: the sweep goes on after its first
    transaction (between the stream's) and looks at all five as of the one moment it started, in three
    transactions; the replay agrees."""
    monkeypatch.setattr(sweep, "BATCH", 2)
    every = settings.model_copy(update={"qualifier_sweep_s": 8, "outbox_poll_s": 0.2})
    users = [f"u-batch-{i}" for i in range(5)]
    async with running_qualifier(every, kafka_bootstrap, topics, database_url) as q:
        events = [
            e
            for user in users
            for e in (
                identify(at(0), user=user),
                download(at(1), "guide-crm-integration", user=user),
                download(at(2), "whitepaper-data-pipelines", user=user),
                seminar_attended(at(3), user=user),  # hot then; warm by now: due when the sweep comes
            )
        ]
        await q.publish(events)
        await q.wait_stored(events)
        leads = [lead_id_for(f"user:{u}") for u in users]
        looked = "SELECT count(*) FROM qualifier.sweeps WHERE lead_id = ANY($1)"
        assert await q.count(looked, leads) == 0, "stored only after the first sweep"
        for lead_id in leads:
            await q.on_topic(q.topics.state, lead_id, expect=3, timeout_s=60)  # cold, hot, warm
        looks = await q.db.fetch(
            "SELECT seq, lead_id, at FROM qualifier.sweeps WHERE lead_id = ANY($1) ORDER BY seq", leads
        )
    first = [r for r in looks if r["at"] == looks[0]["at"]]
    assert sorted(r["lead_id"] for r in first) == sorted(leads)  # one sweep, as of one moment
    assert len({r["seq"] for r in first}) == 5
    engine = create_engine(settings.require_database_url(), pool_size=1)
    try:
        async with engine.connect() as conn:
            result = await rebuild(conn, settings_policy(settings))
    finally:
        await engine.dispose()
    assert result.differences == []
