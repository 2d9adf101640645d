"""The benchmark suite's pure parts, without infrastructure: the load generator against a tiny
in-process HTTP server, percentiles, tables, py-spy profile summaries, and matching an MQL back to
the request that carried its qualifying event. (The benchmarks themselves run with `make bench`.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bench.e2e import Ledger
from bench.loadgen import basic_auth, encode_request, paced, parse_head, read_response
from bench.report import Check, Outcome, percentile, ratios_line, summarize_profile, table


def test_encode_request_is_http11_with_length_and_headers() -> None:
    raw = encode_request("POST", "http://127.0.0.1:8000/v1/batch?x=1", b'{"a":1}', {"Authorization": "k"})
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/batch?x=1 HTTP/1.1"
    assert "Host: 127.0.0.1:8000" in lines and "Content-Length: 7" in lines and "Authorization: k" in lines
    assert body == b'{"a":1}'
    assert basic_auth("wk") == "Basic d2s6"


async def test_read_response_by_length_and_chunked() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    reader.feed_data(b"HTTP/1.1 503 No\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n")
    assert await read_response(reader) == (200, {"content-length": "2"}, b"ok")
    status, _, body = await read_response(reader)
    assert (status, body) == (503, b"abcd")
    assert parse_head(b"HTTP/1.0 404 Not Found\r\nX-A: b\r\n\r\n") == (404, {"x-a": "b"})


async def test_paced_load_sends_every_request_in_order_over_keep_alive() -> None:
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                body = await reader.readexactly(length)
                status = b"200 OK" if body != b"bad" else b"400 Bad"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")
        except asyncio.IncompleteReadError:  # the client closed its keep-alive connection
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/batch"
    sent: list[int] = []
    bodies = [b"a", b"b", b"bad", b"c", b"d", b"e"]
    async with server:
        result = await paced(
            url,
            [encode_request("POST", url, b) for b in bodies],
            per_s=200,
            clients=1,
            on_sent=lambda i, _: sent.append(i),
        )
    assert sent == list(range(6))
    assert result.statuses == {200: 5, 400: 1} and not result.errors
    assert len(result.latencies_s) == 6 and connections == 1


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert (
        percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0 and percentile(values, 100) == 100
    )
    assert percentile([], 50) is None


def test_table_checks_and_ratios() -> None:
    text = table([("produce", 48015.2, None)], ("stage", "rate", "p99"))
    assert text.splitlines()[2].split() == ["produce", "48,015", "-"]
    assert Check("x", 0.4, 0.5).met is False and Check("rss", 90, 200, higher_is_better=False).met is True
    assert Check("none", None, 1).met is None
    assert ratios_line([Outcome("i", ratios={"ingest/produce": 0.845})]) == "ratios: ingest/produce=0.84"


def test_profile_summary_shares_by_function_package_and_service_code() -> None:
    lines = [
        "<module> (services/cli.py:64);serve (services/common/runtime.py:190);"
        "accept (services/ingest/intake.py:60);dumps (orjson/__init__.py:1) 3",
        "<module> (services/cli.py:64);serve (services/common/runtime.py:190);"
        "send (/x/.venv/lib/python3.11/site-packages/aiokafka/producer/producer.py:450) 1",
    ]
    summary = summarize_profile(lines)
    assert summary["self"][0] == ("orjson/__init__.py:dumps", 75.0)
    assert dict(summary["packages"]) == {"orjson": 75.0, "aiokafka": 25.0}
    assert dict(summary["services_inclusive"]) == {"services/ingest/intake.py:accept": 75.0}


def test_mql_matches_the_send_of_its_qualifying_event() -> None:
    ledger = Ledger()
    first = {"anonymousId": "a1", "timestamp": "2025-01-06T10:00:00+00:00"}
    qualifying = {"anonymousId": "a1", "userId": "u1", "timestamp": "2025-01-06T11:00:00+00:00"}
    later = {"userId": "u1", "timestamp": "2025-01-06T12:00:00+00:00"}
    for message, wall in ((first, 100.0), (qualifying, 101.0), (later, 102.0)):
        ledger.record(message, wall)
    mql = {
        "lead_id": "u1",
        "identities": {"anonymous_ids": ["a1"]},
        "qualified_at": datetime(2025, 1, 6, 11, tzinfo=UTC).isoformat(),
    }
    assert ledger.sent_at(mql, seen=102.5) == 101.0
    # without an event at qualified_at: the lead's last send before the MQL was seen
    assert ledger.sent_at({**mql, "qualified_at": None}, seen=101.5) == 101.0
    ledger.mqls["m1"] = mql
    assert ledger.latencies({"m1": 101.25}) == [0.25]
