"""Generated requests, well-formed and not, against ingest on a real broker: never a 500, and every
refusal is a problem document."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from services.common.settings import Settings
from services.ingest.app import create_app
from tests.conftest import WRITE_KEY
from tests.support import serve_in_thread

KINDS = ["track", "identify", "page", "screen", "group", "alias"]
FIELDS = [
    "type",
    "userId",
    "anonymousId",
    "event",
    "name",
    "category",
    "properties",
    "traits",
    "context",
    "timestamp",
    "sentAt",
    "messageId",
    "integrations",
    "writeKey",
    "groupId",
    "previousId",
]
ANSWERS = {200, 400, 401, 413, 429, 503}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Values that pass or nearly pass the checks, so that generated messages reach the deeper paths.
plausible = {
    "type": st.sampled_from([*KINDS, "purchase", ""]) | json_values,
    "userId": st.text(max_size=20) | st.none(),
    "anonymousId": st.text(max_size=20) | st.none(),
    "event": st.text(max_size=20),
    "timestamp": st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()) | st.text(max_size=30),
    "sentAt": st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()) | st.text(max_size=30),
    "messageId": st.text(max_size=300),
    "writeKey": st.sampled_from([WRITE_KEY, "wk_wrong", ""]),
}
messages = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=6),
    json_values,
    max_size=8,
).flatmap(
    lambda doc: st.fixed_dictionaries(
        {k: plausible.get(k, st.just(v)) for k, v in doc.items()}  # type: ignore[arg-type]
    )
)
bodies = st.one_of(
    messages.map(orjson.dumps),
    st.fixed_dictionaries(
        {"batch": st.lists(messages, max_size=5)},
        optional={"sentAt": plausible["sentAt"], "context": json_values, "writeKey": plausible["writeKey"]},
    ).map(orjson.dumps),
    json_values.map(orjson.dumps),
    st.binary(max_size=200),
)
ids = st.text(min_size=1, max_size=20)
required = {
    "track": {"event": ids},
    "group": {"groupId": ids},
    "alias": {"userId": ids, "previousId": ids},
}
optional = {
    "userId": ids,
    "anonymousId": ids,
    "properties": st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    "traits": st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    "context": st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    "timestamp": plausible["timestamp"],
    "sentAt": plausible["sentAt"],
    "messageId": st.text(min_size=1, max_size=256),
    "name": st.text(max_size=20) | st.none(),
}


def well_formed(kind: str) -> st.SearchStrategy[dict[str, object]]:
    """Messages of one kind that mostly pass the checks (the identity may still be missing)."""
    needed = {**required.get(kind, {}), "type": st.just(kind)}
    return st.fixed_dictionaries(
        needed,  # type: ignore[arg-type]
        optional={k: v for k, v in optional.items() if k not in needed},
    )


well_formed_requests = st.one_of(
    st.sampled_from(KINDS).flatmap(
        lambda kind: well_formed(kind).map(lambda doc: (f"/v1/{kind}", orjson.dumps(doc)))
    ),
    st.lists(st.sampled_from(KINDS).flatmap(well_formed), min_size=1, max_size=20).map(
        lambda batch: ("/v1/batch", orjson.dumps({"batch": batch}))
    ),
)
paths = st.sampled_from([f"/v1/{k}" for k in [*KINDS, "batch"]] + ["/v1/t", "/v1/b", "/v1/nope"])
headers = st.fixed_dictionaries(
    {},
    optional={  # each present in a quarter of the requests or so
        "Content-Type": st.sampled_from(["application/json", "text/plain; charset=utf-8", "text/html", "x"]),
        "Authorization": st.sampled_from(["Basic %%%", "Bearer x", "Basic d2tfd3Jvbmc6"]),
        "Content-Encoding": st.sampled_from(["gzip", "identity", "deflate"]),
    },
)


@pytest.fixture
def ingest_url(settings: Settings) -> Iterator[str]:
    """ingest on a thread of its own, so hypothesis can drive it from this (synchronous) test."""
    with serve_in_thread(create_app(settings)) as url:
        yield url


@pytest.mark.slow
def test_no_request_gets_a_500(ingest_url: str) -> None:
    with httpx.Client(base_url=ingest_url, timeout=30) as client:

        @hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            call=st.tuples(paths, bodies) | well_formed_requests,
            extra=headers,
            basic=st.sampled_from([True, True, True, False]),
            gzipped=st.booleans(),
        )
        def post(call: tuple[str, bytes], extra: dict[str, str], basic: bool, gzipped: bool) -> None:
            path, body = call
            if gzipped and extra.get("Content-Encoding") == "gzip":
                body = gzip.compress(body)
            answer = client.post(path, content=body, headers=extra, auth=(WRITE_KEY, "") if basic else None)
            assert answer.status_code in ANSWERS | {404}, answer.text
            if answer.status_code != 200:
                assert answer.headers["content-type"] == "application/problem+json", answer.text
                if answer.status_code == 400 and answer.json().get("errors"):
                    assert all({"field", "message"} <= set(e) for e in answer.json()["errors"])

        post()
