"""schemathesis against the three OpenAPI documents, with valid keys, on the real services (own database and
broker): requests generated from every operation, valid and invalid by the schema; none may get a 5xx.
~100 requests per API in `make test`, 2,000 in `make chaos`."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.ingest.app import create_app as create_ingest
from services.qualifier.worker import create_app as create_qualifier
from tests.chaos.harness import scale
from tests.conftest import API_KEY_ALL, WRITE_KEY
from tests.support import ROOT, serve_in_thread

pytestmark = pytest.mark.slow

REQUESTS = scale(100, 2_000)


def _fuzz(contract: str, url: str, headers: dict[str, str]) -> Counter[int]:
    schema = schemathesis.openapi.from_path(ROOT / "contracts" / contract)
    operations = [result.ok() for result in schema.get_all_operations()]
    cases = st.one_of(
        *(
            op.as_strategy(mode)
            for op in operations
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        )
    )
    answers: Counter[int] = Counter()
    failures: list[str] = []

    @hypothesis_settings(
        max_examples=REQUESTS,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def call(case: schemathesis.Case) -> None:
        response = case.call(base_url=url, headers=headers)
        answers[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r:.300}: "
                f"{response.status_code}"
            )

    call()
    assert not failures, failures[:5]
    assert sum(answers.values()) >= REQUESTS * 0.9
    return answers


@pytest.fixture
def ingest_url(settings: Settings) -> Iterator[str]:
    with serve_in_thread(create_ingest(settings)) as url:
        yield url


@pytest.fixture
def handoff_url(settings: Settings) -> Iterator[str]:
    """With the qualifier it forwards the policy lab to: a 503 here would be a fault, not an outage."""
    with serve_in_thread(create_qualifier(settings)) as qualifier:
        with serve_in_thread(create_handoff(settings.model_copy(update={"qualifier_url": qualifier}))) as url:
            yield url


def test_ingest_openapi_never_5xx(ingest_url: str) -> None:
    basic = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    answers = _fuzz("ingest.openapi.json", ingest_url, {"Authorization": f"Basic {basic}"})
    print(f"ingest: {sum(answers.values())} generated requests, answers {dict(answers)}")
    assert answers[200] > 0, answers  # generated requests also get through, not only refusals


def test_handoff_openapi_never_5xx(handoff_url: str) -> None:
    answers = _fuzz("handoff.openapi.json", handoff_url, {"Authorization": f"Bearer {API_KEY_ALL}"})
    print(f"handoff: {sum(answers.values())} generated requests, answers {dict(answers)}")
    assert answers[200] > 0, answers


@pytest.fixture
def qualifier_url(settings: Settings) -> Iterator[str]:
    with serve_in_thread(create_qualifier(settings)) as url:
        yield url


def test_qualifier_openapi_never_5xx(qualifier_url: str) -> None:
    answers = _fuzz("qualifier.openapi.json", qualifier_url, {"Authorization": f"Bearer {API_KEY_ALL}"})
    print(f"qualifier: {sum(answers.values())} generated requests, answers {dict(answers)}")
    # an empty log: timelines are 404 and a simulation 409; generated requests still reach the routes
    assert answers[404] + answers[409] > 0, answers
