"""Two qualifier instances in one consumer group on a 3-partition topic: a demo audience ends in the same
leads and MQLs as a replay of the stored log, with no MQL emitted twice, and the same lead.updated events
although the changelog's sweep looked at leads while their past-dated events were still arriving; replay
can also write back."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from services.common.db import create_engine
from services.common.envelope import Envelope, new_envelope
from services.common.policy_file import settings_policy
from services.common.settings import Settings
from services.qualifier.demo import generate_audience
from services.qualifier.replay import rebuild, replay_summary
from services.qualifier.worker import create_app
from tests.conftest import Topics
from tests.integration.qualifier.conftest import assert_valid_mql, connect
from tests.support import publish, read_envelopes, serve_app, wait_until

START = datetime(2026, 9, 1, tzinfo=UTC)


def as_ingest_would(message: dict) -> Envelope:
    subject = message.get("userId") or message["anonymousId"]
    time = datetime.fromisoformat(message["timestamp"])
    return new_envelope(
        f"leadstate.{message['type']}.v1",
        message,
        source="ingest",
        subject=subject,
        time=time,
        id_=message["messageId"],
    )


async def test_two_instances_agree_with_replay(
    settings: Settings, kafka_bootstrap: str, topics: Topics, database_url: str
) -> None:
    messages = generate_audience(300, seed=7, start=START)
    envelopes = [as_ingest_would(m) for m in messages]
    db = await connect(database_url)
    try:
        # sweeping twice a second while past-dated events stream in: looks land between a lead's entries
        sweeping = settings.model_copy(update={"qualifier_sweep_s": 0.5})
        apps = [create_app(sweeping), create_app(sweeping)]
        async with serve_app(apps[0]), serve_app(apps[1]):

            async def both_members_assigned() -> bool:
                consumers = [app.state.worker._consumer for app in apps]
                sizes = [len(c.consumer.assignment()) if c else 0 for c in consumers]
                return min(sizes) > 0 and sum(sizes) == 6  # 3 partitions of events and of decisions

            await wait_until(both_members_assigned, timeout_s=60, what="two members sharing the partitions")
            await publish(kafka_bootstrap, topics.events, envelopes[: len(envelopes) // 2])
            await publish(kafka_bootstrap, topics.events, envelopes[len(envelopes) // 2 :] + envelopes[:50])

            async def all_stored() -> bool:
                return await db.fetchval("SELECT count(*) FROM qualifier.events") == len(envelopes)

            await wait_until(all_stored, timeout_s=60, what="the whole audience in the event log")
            registered = await db.fetchval("SELECT count(*) FROM qualifier.mqls")
            assert registered > 5  # the demo audience has hot leads
            accounts = await db.fetchval("SELECT count(*) FROM qualifier.mqas")
            on_topic = await read_envelopes(
                kafka_bootstrap, topics.mql, expect=registered + accounts, timeout_s=30
            )
            assert await db.fetchval("SELECT count(*) FROM qualifier.sweeps") > 0  # the sweep looked
    finally:
        await db.close()

    # lead.mql carries the person MQLs and the account MQAs (its people work at a few companies)
    emitted = [e for e in on_topic if e.type == "leadstate.lead.mql.v1"]
    mqas = Counter(e.id for e in on_topic if e.type == "leadstate.account.mqa.v1")
    assert len(mqas) == accounts and max(mqas.values(), default=1) == 1, "an MQA was emitted twice"
    ids = Counter(e.id for e in emitted)
    assert len(ids) == registered and max(ids.values()) == 1, "an MQL was emitted twice"
    for envelope in emitted:
        assert_valid_mql(envelope)
    assert len({(e.data["lead_id"], e.data["episode"]) for e in emitted}) == registered

    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            result = await rebuild(conn, settings_policy(settings))
            updates = await conn.scalar(
                text("SELECT count(*) FROM qualifier.outbox WHERE topic = :t"), {"t": topics.state}
            )
    finally:
        await engine.dispose()
    assert result.events == len(envelopes)
    assert result.differences == []  # the last lead.updated view of every lead too
    assert result.updates == updates > 0  # the log makes the lead.updated events the group made
    assert set(result.mqls) == set(ids)
    assert set(result.mqas) == set(mqas) and len(mqas) > 0  # replay makes the MQAs the group made
    assert {k: (r["rule"], r["episode"]) for k, r in result.mqls.items()} == {
        e.id: (e.data["rule"]["name"], e.data["episode"]) for e in emitted
    }

    lines, differences = await replay_summary(database_url, settings_policy(settings), write=True)
    assert differences == 0 and f"MQLs: {registered}" in "\n".join(lines)
    lines, differences = await replay_summary(database_url, settings_policy(settings), write=False)
    assert differences == 0 and "no differences from the stored state" in lines


async def test_a_stopping_member_leaves_kafka_the_offsets_it_stored(
    settings: Settings, kafka_bootstrap: str, topics: Topics, database_url: str
) -> None:
    """Kafka's group offsets are advisory (a member seeks to the ones stored with the state) and are
    committed at most once a second, not after every transaction: the second burst below lands within
    that second of the first. A member that stops commits what it applied since, so lag tools and the
    broker agree with the stored offsets."""
    envelopes = [as_ingest_would(m) for m in generate_audience(30, seed=11, start=START)]
    db = await connect(database_url)
    try:
        app = create_app(settings)
        async with serve_app(app):

            async def assigned() -> bool:
                consumer = app.state.worker._consumer
                return consumer is not None and len(consumer.consumer.assignment()) == 6

            await wait_until(assigned, timeout_s=60, what="the member owning every partition")
            for burst in (envelopes[: len(envelopes) // 2], envelopes[len(envelopes) // 2 :]):
                await publish(kafka_bootstrap, topics.events, burst)
                ids = [e.id for e in burst]

                async def stored(ids: list[str] = ids) -> bool:
                    query = "SELECT count(*) FROM qualifier.events WHERE event_id = ANY($1)"
                    return await db.fetchval(query, ids) == len(ids)

                await wait_until(stored, timeout_s=30, what=f"{len(ids)} events stored")
        rows = await db.fetch(
            "SELECT partition, next_offset FROM qualifier.offsets WHERE group_id = $1 AND topic = $2",
            settings.qualifier_group,
            topics.events,
        )
    finally:
        await db.close()
    kept = {r["partition"]: r["next_offset"] for r in rows}
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=settings.qualifier_group)
    await consumer.start()
    try:
        partitions = [TopicPartition(topics.events, p) for p in range(3)]
        ends = await consumer.end_offsets(partitions)
        committed = {tp.partition: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()
    assert kept == {tp.partition: ends[tp] for tp in partitions if ends[tp] > 0}, (kept, ends)
    assert {p: n for p, n in committed.items() if p in kept} == kept
