"""lead.updated as a webhook: tracking events through the real qualifier reach lead.state, and the
dispatcher delivers each update, signed, to an endpoint subscribed to lead.updated only."""

from __future__ import annotations

import json

import jsonschema

from services.common.settings import Settings
from services.qualifier.stitching import lead_id_for
from services.qualifier.worker import create_app as qualifier_app
from tests.integration.handoff.webhooks.conftest import HooksFactory
from tests.integration.handoff.webhooks.receiver import Receiver, running_receiver
from tests.integration.qualifier.conftest import at, identify, seminar_attended
from tests.support import ROOT, publish, serve_app, wait_until

SCHEMA = json.loads((ROOT / "contracts/events/lead.updated.v1.schema.json").read_text())


async def test_lead_updates_reach_a_subscribed_receiver(hooks_app: HooksFactory, settings: Settings) -> None:
    receiver = Receiver()
    qualifier = qualifier_app(settings.model_copy(update={"outbox_poll_s": 0.2}))
    async with (
        running_receiver(receiver),
        hooks_app(webhook_allow_private=True) as hooks,
        serve_app(qualifier),
    ):
        endpoint = await hooks.register(receiver.url, events=["lead.updated"])
        await publish(
            hooks.bootstrap,
            hooks.topics.events,
            [identify(at(0), user="u-hook"), seminar_attended(at(1), user="u-hook")],
        )

        async def two() -> bool:
            return len(receiver.accepted_ids()) >= 2

        await wait_until(two, timeout_s=60, what="two lead.updated deliveries")
        got = receiver.accepted()
        assert all(r.verifies_with(endpoint["secret"]) for r in got)
        bodies = [r.envelope() for r in got]
        assert [b["type"] for b in bodies] == ["leadstate.lead.updated.v1"] * 2  # no lead.mql: not subscribed
        assert [b["data"]["stage"] for b in bodies] == ["known", "mql"]  # in order for the lead
        assert {b["subject"] for b in bodies} == {lead_id_for("user:u-hook")}
        for body in bodies:
            jsonschema.validate(body["data"], SCHEMA, format_checker=jsonschema.FormatChecker())
        assert [r.headers["webhook-id"] for r in got] == [b["id"] for b in bodies]
        rows = await hooks.wait_finished(endpoint["id"], 2)
        assert {(r["status"], r["event_type"]) for r in rows} == {("delivered", "lead.updated")}
