"""The lead-state changelog through the real worker: a scripted lead's lead.updated events on lead.state
(keyed by lead id, valid against the contract, rate-limited in event time, a stage change at once), the
view stored for the next batch, and the topic compacted on Apache Kafka."""

from __future__ import annotations

import json

import jsonschema
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.qualifier.stitching import lead_id_for
from tests.integration.qualifier.conftest import Qualifier, at, download, identify, segment, seminar_attended
from tests.support import ROOT

pytestmark = pytest.mark.asyncio(loop_scope="module")
SCHEMA = json.loads((ROOT / "contracts/events/lead.updated.v1.schema.json").read_text())


@pytest.fixture(scope="module")
def module_env(module_env: dict[str, str]) -> dict[str, str]:
    """No sweep: these leads' bands decay long before today, and the module counts every update (the
    sweep has its own test: test_qualifier_decay.py)."""
    return {**module_env, "LEADSTATE_QUALIFIER_SWEEP_S": "0"}


async def test_a_scripted_lead_publishes_its_changes_on_lead_state(shared_qualifier: Qualifier) -> None:
    q = shared_qualifier
    lead = lead_id_for("user:u-log")
    first = [
        identify(at(0), user="u-log"),
        segment("page", at(1), user="u-log", properties={"path": "/blog/a"}),  # nothing worth telling
        download(at(2), "guide-crm-integration", user="u-log"),  # held back: 2 minutes after the first
    ]
    await q.publish(first)
    await q.wait_stored(first)
    # separate batches from here on: the stored view decides, as one batch would have; the held-back
    # change fell due at 10 minutes and is published as of then, before this entry is folded
    later = [segment("page", at(12), user="u-log", properties={"path": "/blog/b"})]
    await q.publish(later)
    await q.wait_stored(later)
    await q.publish([seminar_attended(at(13), user="u-log")])  # the MQL: a stage change, published at once

    updates = await q.on_topic(q.topics.state, lead, expect=3)
    for u in updates:
        assert u.type == "leadstate.lead.updated.v1" and u.subject == lead
        jsonschema.validate(u.data, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert [(u.data["stage"], u.data["updated_at"]) for u in updates] == [
        ("known", at(0).isoformat()),
        ("known", at(10).isoformat()),
        ("mql", at(13).isoformat()),
    ]
    assert (
        updates[0].data["fit"]["title_level"] == "manager"
        and updates[0].data["email"] == "u-log@example.test"
    )
    assert updates[1].data["changed"] == ["score_band", "top_interests"]
    assert updates[1].data["top_interests"][0]["topic"] == "data-integration"
    assert updates[2].data["changed"][0] == "stage" and updates[2].data["episode"] == 1
    stored = await q.db.fetchrow(
        "SELECT view, published_at FROM qualifier.lead_changelog WHERE lead_id = $1", lead
    )
    assert json.loads(stored["view"])["stage"] == "mql" and stored["published_at"] == at(13)


async def test_redelivered_events_publish_nothing_new(shared_qualifier: Qualifier) -> None:
    q = shared_qualifier
    lead = lead_id_for("user:u-log2")
    events = [identify(at(0), user="u-log2")]
    await q.publish(events)
    await q.wait_stored(events)
    await q.publish(events)  # the same envelope again: already processed
    [update] = await q.on_topic(q.topics.state, lead, expect=1)
    assert update.data["stage"] == "known"


async def test_lead_state_is_compacted_on_kafka(shared_qualifier: Qualifier, broker_kind: str) -> None:
    if broker_kind != "kafka":
        pytest.skip("Tansu keeps no topic configs (memory-only, never deletes)")
    admin = AIOKafkaAdminClient(bootstrap_servers=shared_qualifier.bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, shared_qualifier.topics.state)]
        )
    finally:
        await admin.close()
    configs = {name: value for name, value, *_ in described.resources[0][4]}
    assert configs["cleanup.policy"] == "compact"
