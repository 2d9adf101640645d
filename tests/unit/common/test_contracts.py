"""The committed contracts match the code; run `leadstate contracts` after changing an API."""

from __future__ import annotations

import json

import pytest

from services.common.contracts import CONTRACTS, generated, render


@pytest.mark.parametrize("name", sorted(generated()))
def test_committed_contract_is_current(name: str) -> None:
    path = CONTRACTS / name
    assert path.exists(), f"{path} is missing: run `leadstate contracts`"
    assert path.read_text() == render(generated()[name]), f"{path} is stale: run `leadstate contracts`"


def test_envelope_schema_requires_the_cloudevents_attributes() -> None:
    schema = json.loads((CONTRACTS / "envelope.schema.json").read_text())
    assert {"id", "source", "type", "time", "data"} <= set(schema["required"])
