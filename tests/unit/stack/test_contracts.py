"""The committed contracts match the code; run `leadstate contracts` after changing an API."""

from __future__ import annotations

import json

import pytest

from services.stack.contracts import CONTRACTS, generated, render


@pytest.mark.parametrize("name", sorted(generated()))
def test_committed_contract_is_current(name: str) -> None:
    path = CONTRACTS / name
    assert path.exists(), f"{path} is missing: run `leadstate contracts`"
    assert path.read_text() == render(generated()[name]), f"{path} is stale: run `leadstate contracts`"


def test_envelope_schema_requires_the_cloudevents_attributes() -> None:
    schema = json.loads((CONTRACTS / "envelope.schema.json").read_text())
    assert {"id", "source", "type", "time", "data"} <= set(schema["required"])


def test_asyncapi_names_the_default_topics_and_existing_schemas() -> None:
    import yaml

    from services.common.settings import Settings

    doc = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text())
    addresses = {c["address"] for c in doc["channels"].values()}
    defaults = Settings.model_fields
    names = ("topic_events", "topic_mql", "topic_decisions", "topic_dead_letter", "topic_lead_state")
    assert addresses == {defaults[name].default for name in names}
    for channel in doc["channels"].values():
        for message in channel["messages"].values():
            ref = message["payload"].get("$ref")
            if ref:
                schema = CONTRACTS / ref.removeprefix("./")
                assert schema.exists(), f"{ref} does not exist"
                json.loads(schema.read_text())
