"""The documents in contracts/ that are generated from code: the envelope schema and the three services'
OpenAPI documents. `leadstate contracts` rewrites them; a test fails when a committed one is stale."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.common.envelope import Envelope
from services.common.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"

_OFFLINE = {"database_url": "postgresql://offline/leadstate", "kafka_bootstrap": "offline:9092"}


def _envelope_schema() -> dict[str, Any]:
    schema = Envelope.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://leadstate.dev/contracts/envelope.schema.json"
    schema["description"] = (
        "CloudEvents 1.0 structured-mode envelope of every leadstate message. `id` is the de-duplication "
        "key; `subject` is the lead's routing key and the Kafka message key."
    )
    return schema


def _openapi(factory: Callable[[Settings], Any]) -> dict[str, Any]:
    return factory(Settings(**_OFFLINE)).openapi()  # type: ignore[arg-type]


def generated() -> dict[str, dict[str, Any]]:
    from services.handoff.app import create_app as handoff_app
    from services.ingest.app import create_app as ingest_app
    from services.qualifier.worker import create_app as qualifier_app

    return {
        "envelope.schema.json": _envelope_schema(),
        "ingest.openapi.json": _openapi(ingest_app),
        "handoff.openapi.json": _openapi(handoff_app),
        "qualifier.openapi.json": _openapi(qualifier_app),
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def export(directory: Path = CONTRACTS) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    for name, doc in generated().items():
        path = directory / name
        path.write_text(render(doc))
        written.append(path)
    return written
