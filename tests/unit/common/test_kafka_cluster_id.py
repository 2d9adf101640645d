"""The embedded Kafka's cluster id never starts with "-" (kafka-storage would take it for an option: one
format in 64 failed that way before)."""

from __future__ import annotations

import uuid

import pytest

from services.common import kafka_broker


def test_a_cluster_id_starting_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" + bytes(15))])
    monkeypatch.setattr(kafka_broker.uuid, "uuid4", lambda: next(drawn))
    cluster_id = kafka_broker.new_cluster_id()
    assert cluster_id == "AQAAAAAAAAAAAAAAAAAAAA"
    assert next(drawn, None) is None  # the first, dashed, id was drawn and refused


def test_cluster_ids_are_22_url_safe_characters() -> None:
    for _ in range(500):
        cluster_id = kafka_broker.new_cluster_id()
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
