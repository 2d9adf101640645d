"""Generated hostile clients, end to end: Segment messages valid and not, with extreme clocks, odd Unicode
(NUL, lone surrogates, RTL marks, emoji, Japanese), huge and deeply nested properties, alias chains and
cycles and identities shared between people, posted through ingest into the running qualifier and
handoff (processes, as compose runs them), beside a demo audience that produces MQLs.

Then: every 200 is in qualifier.events (nothing acknowledged was dead-lettered), every 4xx is a problem
document naming a field, no 5xx, the inbox, lead, funnel and console pages answer 200, and the stored
state equals a replay of the log (the audit, and `leadstate replay` as a user runs it).
~150 generated requests in `make test`, 3,000 in `make chaos`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from asyncio.subprocess import PIPE, STDOUT
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.chaos.audit import audit, pending_outbox, stored_count
from tests.chaos.harness import Stack, Tally, connect, demo_messages, post_until_acknowledged, scale
from tests.conftest import API_KEY_ALL, WRITE_KEY
from tests.integration.console.conftest import csrf_of, post_login
from tests.support import ROOT, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REQUESTS = scale(150, 3_000)
DEMO_MESSAGES = scale(400, 4_000)
DRAIN_S = scale(120, 900)

ODD = "\x00\u200f\u202e\u200b\ufeff😀👩‍💻日本語のテキスト한국어Ωé\t\n"
odd_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00") | st.sampled_from(ODD[1:]), max_size=24
)
# a small pool, so that generated people share devices and ids and alias into chains and cycles
pool = st.sampled_from([f"u-{i}" for i in range(5)] + [f"a-{i}" for i in range(5)])
identities = st.one_of(*[pool] * 20, odd_text.filter(bool))
# one message in four is spoiled in one place: a NUL or lone surrogate, no identity, a too long one
UNSTORABLE = ["a\x00b", "\x00", "\ud800", "\udfff-x"]
spoils = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.tuples(
        st.sampled_from(["userId", "event", "name", "properties", "context", "key", "drop", "long"]),
        st.sampled_from(UNSTORABLE),
    ),
)


def _spoiled(message: dict[str, Any], spoil: tuple[str, str] | None) -> dict[str, Any]:
    if spoil is None:
        return message
    where, bad = spoil
    if where == "drop":  # no identity at all
        return {k: v for k, v in message.items() if k not in ("userId", "anonymousId")}
    if where == "long":  # over the 255 characters of an identity
        return {**message, "anonymousId": "i" * 256}
    if where == "key":
        return {**message, "properties": {bad: 1}}
    if where in ("properties", "context"):
        return {**message, where: {"title": bad}}
    return {**message, where: bad}


times = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
        lambda d: f"{d.isoformat()}Z"
    ),
    st.sampled_from(
        ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z"]
    ),
    odd_text,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=20,
)


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for i in range(depth):
        value = {"n": value} if i % 2 else [value]
    return value


properties = st.one_of(
    st.dictionaries(odd_text, json_values, max_size=6),
    st.builds(lambda d: {"deep": _nested(d)}, st.integers(1, 900)),
    st.builds(lambda n: {"huge": "x" * n}, st.integers(1_000, 40_000)),
    st.fixed_dictionaries(
        {
            "asset_id": st.sampled_from(["wp-ma-guide", "wp-kafka"]),
            "topic": st.sampled_from(["ma", "streaming"]),
        }
    ),
)
clean_message = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["track", "identify", "page", "screen", "group", "alias"]),
        "userId": identities,
        "anonymousId": identities,
        "previousId": identities,
        "groupId": identities,
        "event": st.sampled_from(["Seminar Attended", "Content Downloaded", "Form Submitted"]) | odd_text,
    },
    optional={
        "name": odd_text,
        "properties": properties,
        "traits": st.fixed_dictionaries(
            {}, optional={"email": st.sampled_from(["shared@x.example", "b@y.example", "x" * 300]) | odd_text}
        ),
        "context": st.dictionaries(odd_text, json_values, max_size=3),
        "timestamp": times,
        "sentAt": times,
    },
)
message = st.builds(_spoiled, clean_message, spoils)
single = message.map(lambda m: (f"/v1/{m['type']}", [m]))
requests = st.one_of(
    single, single, st.lists(message, min_size=1, max_size=4).map(lambda b: ("/v1/batch", b))
)


def generated(n: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """n requests drawn by hypothesis (fixed seed: a failure is reproducible), each message with a
    unique messageId so that its fate downstream can be checked."""
    drawn: list[tuple[str, list[dict[str, Any]]]] = []

    @seed(23)
    @hypothesis_settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests)
    def draw(request: tuple[str, list[dict[str, Any]]]) -> None:
        path, batch = request
        drawn.append((path, [{**m, "messageId": str(uuid.uuid4())} for m in batch]))

    draw()
    return drawn


def _body(path: str, batch: list[dict[str, Any]]) -> bytes:
    doc: object = {"batch": batch} if path == "/v1/batch" else batch[0]
    # json (not orjson) writes a lone surrogate as the "\ud800" escape a hostile client can send
    return json.dumps(doc).encode()


async def _post_all(url: str, drawn: list[tuple[str, list[dict[str, Any]]]], tally: Tally) -> list[str]:
    """Post each request; collect what is wrong with an answer (a 5xx, a 4xx that names no field)."""
    wrong: list[str] = []
    async with httpx.AsyncClient(base_url=url, auth=(WRITE_KEY, ""), timeout=30) as client:
        for path, batch in drawn:
            ids = [m["messageId"] for m in batch]
            tally.sent.update(ids)
            answer = await post_until_acknowledged(
                client, path, tally, content=_body(path, batch), headers={"Content-Type": "application/json"}
            )
            if answer.status_code == 200:
                tally.acknowledged.update(ids)
            elif answer.status_code not in (400, 413):
                wrong.append(f"{path} answered {answer.status_code}: {answer.text[:300]}")
            elif answer.headers.get("content-type") != "application/problem+json" or not all(
                e.get("field") for e in answer.json().get("errors") or [{}]
            ):
                wrong.append(f"{path} answered {answer.status_code} naming no field: {answer.text[:300]}")
    return wrong


async def _pages_answer(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {API_KEY_ALL}"}
    async with httpx.AsyncClient(base_url=stack.url("handoff"), headers=headers, timeout=30) as api:
        leads: set[str] = set()
        for params in ({"order": "newest"}, {"order": "oldest"}, {"sla": "breached"}, {"sla": "ok"}):
            answer = await api.get("/v1/mqls", params={**params, "limit": 200})
            assert answer.status_code == 200, answer.text
            leads |= {item["lead_id"] for item in answer.json()["items"]}
        assert leads, "the demo audience produced no MQL in the inbox"
        for lead in sorted(leads)[:50]:
            assert (await api.get(f"/v1/leads/{lead}")).status_code == 200, lead
        for group_by in ("rule", "policy_version", "topic", "reason"):
            assert (await api.get("/v1/reports/funnel", params={"group_by": group_by})).status_code == 200
    async with httpx.AsyncClient(base_url=stack.url("handoff"), timeout=30) as browser:
        answer = await post_login(browser, {"key": API_KEY_ALL, "name": "Aiko Sato"})
        assert answer.status_code == 303, answer.text
        csrf_of((await browser.get("/console/policy")).text)
        for page in ("/console/inbox", "/console/inbox?order=newest", "/console/funnel?period=all"):
            assert (await browser.get(page)).status_code == 200, page
        for lead in sorted(leads)[:10]:
            assert (await browser.get(f"/console/leads/{lead}")).status_code == 200, lead


async def test_generated_hostile_clients_break_nothing(
    env: dict[str, str], database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = Stack(env, tmp_path)
    db = await connect(database_url)
    tally = Tally()
    try:
        await stack.start()
        demo = [
            ("/v1/batch", demo_messages(DEMO_MESSAGES, seed=23)[i : i + 50])
            for i in range(0, DEMO_MESSAGES, 50)
        ]
        wrong = await _post_all(stack.url("ingest"), [*demo, *generated(REQUESTS)], tally)
        assert not wrong, wrong[:5]

        async def quiet() -> bool:
            return (
                await stored_count(db, tally.acknowledged) == len(tally.acknowledged)
                and await pending_outbox(db) == 0
                and await db.fetchval("SELECT count(*) FROM handoff.mqls")
                == await db.fetchval("SELECT count(*) FROM qualifier.mqls")
            )

        await wait_until(quiet, timeout_s=DRAIN_S, what="every acknowledged message in qualifier.events")
        await _pages_answer(stack)
        result = await audit(db, database_url, kafka_bootstrap, env, acknowledged=tally.acknowledged)
        replay = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            "replay",
            env=stack.env,
            cwd=ROOT,
            stdout=PIPE,
            stderr=STDOUT,
        )
        replay_output = (await asyncio.wait_for(replay.communicate(), 300))[0].decode(errors="replace")
    finally:
        codes = stack.stop()
        await db.close()
    print(
        f"\nhostile clients: {len(tally.sent)} messages sent, {len(tally.acknowledged)} acknowledged "
        f"({result.stored_events} stored), answers {tally.answers}, {result.mqls_on_topic} MQLs"
    )
    assert tally.answers.get(400) and tally.answers.get(200), tally.answers  # both kinds were generated
    result.assert_sound()
    assert replay.returncode == 0, replay_output[-3000:]  # 3: the stored state differs from the replay
    assert set(codes.values()) == {0}, {name: stack.log(name) for name in codes}
