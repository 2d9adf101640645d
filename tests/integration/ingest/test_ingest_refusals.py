"""Bad input gets a clear problem+json answer and nothing of it reaches the topic."""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid

import httpx
import orjson
import pytest

from services.common.settings import Settings
from tests.conftest import WRITE_KEY, Topics
from tests.support import read_envelopes

PROBLEM = "application/problem+json"


async def assert_topic_holds_only_a_marker(ingest: httpx.AsyncClient, bootstrap: str, topic: str) -> None:
    """Post one good message after the refused ones: it must be the only one on the topic."""
    marker = str(uuid.uuid4())
    answer = await ingest.post("/v1/track", json={"userId": "m", "event": "Marker", "messageId": marker})
    assert answer.status_code == 200, answer.text
    envelopes = await read_envelopes(bootstrap, topic, expect=1)
    assert [e.id for e in envelopes] == [marker], "a refused request left messages on the topic"


def assert_problem(answer: httpx.Response, status: int, field: str | None = None) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    doc = answer.json()
    assert doc["status"] == status and doc["detail"]
    if field is not None:
        assert field in [e["field"] for e in doc["errors"]], doc
    return doc


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/track", {"event": "Form Submitted"}, "userId"),
        ("/v1/track", {"userId": "", "anonymousId": None, "event": "x"}, "userId"),
        ("/v1/track", {"userId": "u"}, "event"),
        ("/v1/track", {"userId": "u", "event": 42}, "event"),
        ("/v1/track", {"userId": 7, "event": "x"}, "userId"),
        ("/v1/track", {"userId": "u", "event": "x", "properties": []}, "properties"),
        ("/v1/track", {"userId": "u", "event": "x", "timestamp": "yesterday"}, "timestamp"),
        ("/v1/track", {"userId": "u", "event": "x", "type": "page"}, "type"),
        ("/v1/track", {"userId": "u", "event": "x", "messageId": ""}, "messageId"),
        ("/v1/identify", {"userId": "u", "traits": "vip"}, "traits"),
        ("/v1/group", {"userId": "u"}, "groupId"),
        ("/v1/alias", {"anonymousId": "a", "previousId": "p"}, "userId"),
        ("/v1/alias", {"userId": "u"}, "previousId"),
        ("/v1/batch", {"batch": []}, "batch"),
        ("/v1/batch", {"batch": {"type": "track"}}, "batch"),
        ("/v1/batch", {"batch": [{"userId": "u", "type": "purchase"}]}, "batch[0].type"),
        ("/v1/batch", {"batch": [{"userId": "u"}]}, "batch[0].type"),
        ("/v1/batch", {"batch": ["not an object"]}, "batch[0]"),
        ("/v1/batch", {"batch": [{"type": "page", "userId": "u"}], "sentAt": 5}, "sentAt"),
    ],
)
async def test_invalid_message(
    path: str,
    body: dict[str, object],
    field: str,
    ingest: httpx.AsyncClient,
    kafka_bootstrap: str,
    topics: Topics,
) -> None:
    assert_problem(await ingest.post(path, json=body), 400, field)
    await assert_topic_holds_only_a_marker(ingest, kafka_bootstrap, topics.events)


async def test_batch_with_one_bad_message_is_refused_whole(
    ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    batch = [{"type": "track", "userId": f"u-{i}", "event": "Content Downloaded"} for i in range(6)]
    del batch[3]["userId"]
    doc = assert_problem(await ingest.post("/v1/batch", json={"batch": batch}), 400, "batch[3].userId")
    assert len(doc["errors"]) == 1  # type: ignore[arg-type]
    await assert_topic_holds_only_a_marker(ingest, kafka_bootstrap, topics.events)


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"userId": "u", "event": ', {"Content-Type": "application/json"}),
        (b"[1, 2]", {"Content-Type": "application/json"}),
        (b"", {"Content-Type": "application/json"}),
        (b"userId=u&event=x", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b'{"userId": "u", "event": "x"}', {"Content-Type": "application/xml"}),
        (b'{"userId": "u", "event": "x"}', {"Content-Type": "application/json", "Content-Encoding": "br"}),
        (b"not gzip at all", {"Content-Type": "application/json", "Content-Encoding": "gzip"}),
    ],
)
async def test_unreadable_body(
    content: bytes, headers: dict[str, str], ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    assert_problem(await ingest.post("/v1/track", content=content, headers=headers), 400)
    await assert_topic_holds_only_a_marker(ingest, kafka_bootstrap, topics.events)


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"auth": ("wk_wrong", "")},
        {"headers": {"Authorization": "Basic !!!not-base64"}},
        {"json_key": "wk_wrong"},
    ],
    ids=["missing", "wrong-basic", "malformed-basic", "wrong-body-key"],
)
async def test_missing_or_wrong_write_key(
    auth: dict[str, object], ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics
) -> None:
    body: dict[str, object] = {"userId": "u", "event": "x"}
    if "json_key" in auth:
        body["writeKey"] = auth["json_key"]
    answer = await ingest.post(
        "/v1/track",
        json=body,
        auth=auth.get("auth"),  # type: ignore[arg-type]
        headers=auth.get("headers"),  # type: ignore[arg-type]
    )
    assert_problem(answer, 401)
    assert answer.headers["www-authenticate"].startswith("Basic")
    await assert_topic_holds_only_a_marker(ingest, kafka_bootstrap, topics.events)


async def test_basic_key_wins_over_a_body_key(ingest: httpx.AsyncClient) -> None:
    answer = await ingest.post(
        "/v1/track", json={"userId": "u", "event": "x", "writeKey": WRITE_KEY}, auth=("wk_wrong", "")
    )
    assert_problem(answer, 401)


async def test_too_large(ingest: httpx.AsyncClient, kafka_bootstrap: str, topics: Topics) -> None:
    big = "x" * (33 * 1024)
    assert_problem(await ingest.post("/v1/track", json={"userId": "u", "event": "x", "p": big}), 413)
    # within 500 KB per request, but one message over 32 KB: refused whole, naming it
    batch = [{"type": "page", "userId": "u"}, {"type": "page", "userId": "u", "properties": {"p": big}}]
    assert_problem(await ingest.post("/v1/batch", json={"batch": batch}), 413, "batch[1]")
    # each message small, the request over 500 KB
    many = [{"type": "page", "userId": "u", "properties": {"p": "y" * 1000}} for _ in range(600)]
    assert_problem(await ingest.post("/v1/batch", json={"batch": many}), 413)
    await assert_topic_holds_only_a_marker(ingest, kafka_bootstrap, topics.events)


async def test_too_large_is_refused_on_content_length_before_the_upload(ingest: httpx.AsyncClient) -> None:
    """Only headers and a few bytes are sent: the answer can only come from Content-Length."""
    url = ingest.base_url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(
            b"POST /v1/batch HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
            b"Authorization: Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()) + b"\r\n"
            b'Content-Length: 10485760\r\n\r\n{"batch": ['
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
    assert status_line.split()[1] == b"413", status_line


async def test_gzip_bomb_is_refused(ingest: httpx.AsyncClient) -> None:
    import gzip

    bomb = gzip.compress(b'{"batch": [' + b" " * (20 * 1024 * 1024) + b"]}")
    assert len(bomb) < 500 * 1024
    answer = await ingest.post(
        "/v1/batch", content=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    assert_problem(answer, 413)


class TestRateLimit:
    @pytest.fixture
    def ingest_settings(self, settings: Settings) -> Settings:
        # one request, then a token every 100 s: the second request in a row is always over
        return settings.model_copy(update={"rate_limit_per_s": 0.01})

    async def test_over_the_limit(self, ingest: httpx.AsyncClient) -> None:
        body = {"userId": "u", "event": "x"}
        assert (await ingest.post("/v1/track", json=body)).status_code == 200
        answer = await ingest.post("/v1/track", json=body)
        assert_problem(answer, 429)
        assert int(answer.headers["retry-after"]) >= 1
        # a wrong key is not counted against, nor limited by, the real key's bucket
        assert (await ingest.post("/v1/track", json=body, auth=("wk_other", ""))).status_code == 401


async def test_cors_preflight_and_answer(ingest: httpx.AsyncClient) -> None:
    origin = "https://www.customer.example"
    preflight = await ingest.options(
        "/v1/batch",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", origin)
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()

    answer = await ingest.post("/v1/page", json={"anonymousId": "a"}, headers={"Origin": origin})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] in ("*", origin)


class TestCorsAllowList:
    @pytest.fixture
    def ingest_settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"cors_origins": ("https://allowed.example",)})

    async def test_only_listed_origins(self, ingest: httpx.AsyncClient) -> None:
        def preflight(origin: str) -> dict[str, str]:
            return {"Origin": origin, "Access-Control-Request-Method": "POST"}

        allowed = await ingest.options("/v1/track", headers=preflight("https://allowed.example"))
        assert allowed.headers["access-control-allow-origin"] == "https://allowed.example"
        refused = await ingest.options("/v1/track", headers=preflight("https://evil.example"))
        assert "access-control-allow-origin" not in refused.headers


async def test_info_logs_hold_no_key_personal_data_or_body(
    ingest: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret_email = f"{uuid.uuid4().hex}@example.com"
    with caplog.at_level(logging.INFO):
        await ingest.post("/v1/identify", json={"userId": "u-log", "traits": {"email": secret_email}})
        await ingest.post("/v1/identify", json={"traits": {"email": secret_email}})  # 400
        await ingest.post(
            "/v1/identify", content=orjson.dumps({"writeKey": WRITE_KEY, "userId": "u-log"}), auth=None
        )
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert secret_email not in text and WRITE_KEY not in text and "u-log" not in text
