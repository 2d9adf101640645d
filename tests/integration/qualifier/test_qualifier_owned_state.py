"""Partition-owned state with two members alive: one person's anonymous id and user id live on
partitions of different members, so both members cache the same lead. Each member's writes are checked
against the lead's row version; a stale cache is rolled back, reloaded and applied again. The stored
leads equal a replay of the log, and the members' caches hold the state they own. Likewise one account
whose people live on both members' partitions: a member's copy of the account that the other member has
overtaken is brought up to date before it is used, never written back over the newer account."""

from __future__ import annotations

import json

from aiokafka.partitioner import murmur2
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select

from services.common.db import create_engine
from services.common.envelope import Envelope
from services.common.policy_file import settings_policy
from services.common.settings import Settings
from services.qualifier.replay import rebuild
from services.qualifier.stitching import lead_id_for
from services.qualifier.tables import leads
from services.qualifier.worker import create_app
from tests.conftest import Topics
from tests.integration.qualifier.conftest import at, connect, download, identify, segment, seminar_attended
from tests.support import publish, serve_app, wait_until

PARTITIONS = 3  # the test topics' partitions (tests/conftest.py)


def partition_of(key: str) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS


def owned(app: FastAPI, topic: str) -> set[int]:
    consumer = app.state.worker._consumer
    return {tp.partition for tp in consumer.consumer.assignment() if tp.topic == topic} if consumer else set()


def key_on(partitions: set[int], prefix: str) -> str:
    return next(f"{prefix}-{i}" for i in range(1000) if partition_of(f"{prefix}-{i}") in partitions)


def stale_retries() -> float:
    return (
        REGISTRY.get_sample_value("leadstate_qualifier_stale_retries_total", {"reason": "stale cache"}) or 0.0
    )


async def test_one_person_on_two_members_partitions_ends_as_the_replay(
    settings: Settings, kafka_bootstrap: str, topics: Topics, database_url: str
) -> None:
    db = await connect(database_url)
    apps = [create_app(settings), create_app(settings)]
    retries_before = stale_retries()
    try:
        async with serve_app(apps[0]), serve_app(apps[1]):

            async def both_own_events() -> bool:
                return all(owned(app, topics.events) for app in apps)

            await wait_until(both_own_events, timeout_s=60, what="two members sharing lead.events")
            anon = key_on(owned(apps[0], topics.events), "anon")
            user = key_on(owned(apps[1], topics.events), "user")
            sent: list[Envelope] = []

            async def send(*envelopes: Envelope) -> None:
                await publish(kafka_bootstrap, topics.events, list(envelopes))
                sent.extend(envelopes)
                ids = [e.id for e in sent]

                async def stored() -> bool:
                    query = "SELECT count(*) FROM qualifier.events WHERE event_id = ANY($1)"
                    return await db.fetchval(query, ids) == len(ids)

                await wait_until(stored, timeout_s=30, what=f"{len(ids)} events stored")

            await send(download(at(0), "a-1", anon=anon), download(at(1), "a-2", anon=anon))
            await send(
                identify(at(2), user=user, anon=anon)
            )  # on the other member: merges the anonymous lead
            for round_ in range(6):  # both members write the one lead, one after the other and at once
                minute = 10 + 10 * round_
                await send(segment("page", at(minute), anon=anon, properties={"path": f"/p{round_}"}))
                await send(download(at(minute + 1), f"u-{round_}", user=user))
                await send(
                    segment("page", at(minute + 2), anon=anon, properties={"path": f"/q{round_}"}),
                    seminar_attended(at(minute + 3), user=user)
                    if round_ == 3
                    else download(at(minute + 3), "x", user=user),
                )
            cached = [app.state.cache for app in apps]
    finally:
        await db.close()

    person, anonymous = lead_id_for(f"user:{user}"), lead_id_for(f"anon:{anon}")
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            result = await rebuild(conn, settings_policy(settings))
            query = select(leads.c.lead_id, leads.c.merged_into, leads.c.state)
            rows = {r.lead_id: r for r in await conn.execute(query)}
    finally:
        await engine.dispose()
    assert result.events == len(sent)
    assert result.differences == [], result.differences
    assert rows[anonymous].merged_into == person
    state = rows[person].state
    assert anon in state["identities"]["anonymous_ids"] and state["identities"]["user_id"] == user
    folded = sum(state["counts"].get(kind, 0) for kind in ("track", "page", "identify"))
    assert folded == len(sent)  # every event folded into the one lead, once
    assert stale_retries() > retries_before, "a member wrote over a lead the other had changed"
    assert all(len(c) > 0 for c in cached)  # each member kept the state of what it applied


def colleague(minute: float, user: str, domain: str, title: str, employees: int) -> Envelope:
    traits = {
        "email": f"{user}@{domain}",
        "title": title,
        "industry": "manufacturing",
        "company_size": employees,
    }
    return segment("identify", at(minute), user=user, traits=traits)


async def test_an_account_on_two_members_partitions_is_never_overwritten_by_a_stale_copy(
    settings: Settings, kafka_bootstrap: str, topics: Topics, database_url: str
) -> None:
    db = await connect(database_url)
    apps = [create_app(settings), create_app(settings)]
    domain = f"works-{key_on(set(range(PARTITIONS)), 'd')}.example"
    account_id = f"domain:{domain}"
    day = 24 * 60
    try:
        async with serve_app(apps[0]), serve_app(apps[1]):

            async def both_own_events() -> bool:
                return all(owned(app, topics.events) for app in apps)

            await wait_until(both_own_events, timeout_s=60, what="two members sharing lead.events")
            engineer = key_on(owned(apps[0], topics.events), "eng")
            director = key_on(owned(apps[1], topics.events), "dir")
            manager = key_on(owned(apps[1], topics.events), "mgr")

            async def send(*envelopes: Envelope) -> None:
                await publish(kafka_bootstrap, topics.events, list(envelopes))
                ids = [e.id for e in envelopes]

                async def stored() -> bool:
                    query = "SELECT count(*) FROM qualifier.events WHERE event_id = ANY($1)"
                    return await db.fetchval(query, ids) == len(ids)

                await wait_until(stored, timeout_s=30, what=f"{len(ids)} events stored")

            # the first member takes its copy of the account: one engineer of a 250-person company
            await send(
                colleague(0, engineer, domain, "Engineer", 250),
                download(at(day), "ebook-ma-selection", user=engineer),
            )
            # the other member's people join it, say the company has 1,200 people (the newer trait) and
            # make it an MQA: the first member's copy is now behind
            await send(
                colleague(10, director, domain, "Director of Operations", 1200),
                colleague(11, manager, domain, "Marketing Manager", 1200),
                download(at(2 * day), "wp-lead-scoring", user=director),
                download(at(3 * day), "wp-mql-sql-guide", user=manager),
            )
            # the first member's person again: its member applies it to the account
            await send(download(at(4 * day), "wp-cdp-basics", user=engineer))
            copy = apps[0].state.cache.accounts.account(account_id)
            account = await db.fetchrow(
                "SELECT stage, episode, attributes::text AS attributes FROM qualifier.accounts"
                " WHERE account_id = $1",
                account_id,
            )
            people = await db.fetch(
                "SELECT lead_id FROM qualifier.account_members WHERE account_id = $1", account_id
            )
            registered = await db.fetchval(
                "SELECT count(*) FROM qualifier.mqas WHERE account_id = $1", account_id
            )
    finally:
        await db.close()

    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            result = await rebuild(conn, settings_policy(settings))
    finally:
        await engine.dispose()
    everyone = {lead_id_for(f"user:{u}") for u in (engineer, director, manager)}
    assert (account["stage"], account["episode"], registered) == ("mqa", 1, 1)
    assert json.loads(account["attributes"])["company_size"] == 1200  # not the stale copy's 250
    assert {r["lead_id"] for r in people} == everyone
    assert copy is not None and set(copy.members) == everyone  # the copy caught up before it was used
    assert result.differences == [], result.differences
