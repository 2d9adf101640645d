"""Delivery as a receiver sees it: every request verifies with `standardwebhooks`; timeouts, 500s, 429
with Retry-After and connection resets are retried until accepted, each webhook-id accepted once per
event and each lead's events in order; other 4xx is final; rotation signs with both secrets; an
address that turns internal after registration is refused at connection."""

from __future__ import annotations

from sqlalchemy import update

from services.handoff.webhooks.tables import webhook_endpoints
from tests.integration.handoff.data import mql_envelope
from tests.integration.handoff.webhooks.conftest import HooksFactory
from tests.integration.handoff.webhooks.receiver import Receiver, running_receiver
from tests.support import publish, wait_until


async def test_failures_are_retried_and_each_lead_keeps_its_order(hooks_app: HooksFactory) -> None:
    receiver = Receiver(script=["500", "hang", "429:1", "reset", "503", "200", "500"])
    async with running_receiver(receiver), hooks_app(webhook_allow_private=True) as hooks:
        endpoint = await hooks.register(receiver.url)
        events = [mql_envelope(lead, episode=n) for n in (1, 2, 3) for lead in ("lead-a", "lead-b", "lead-c")]
        await publish(hooks.bootstrap, hooks.topics.mql, events)
        await wait_until(lambda: _at_least(receiver, len(events)), timeout_s=90, what="every event accepted")
        assert all(r.verifies_with(endpoint["secret"]) for r in receiver.received)
        accepted = receiver.accepted_ids()
        assert sorted(accepted) == sorted(e.id for e in events)
        for lead in ("lead-a", "lead-b", "lead-c"):
            published = [e.id for e in events if e.subject == lead]
            assert [i for i in accepted if i in published] == published, lead
        # the scripted failures happened, and the receiver's view holds each event once
        assert {r.answered for r in receiver.received} >= {"500", "hang", "429:1", "reset", "503"}
        rows = await hooks.wait_finished(endpoint["id"], len(events))
        assert {r["status"] for r in rows} == {"delivered"}
        assert sum(r["attempts"] for r in rows) == len(receiver.received)


async def _at_least(receiver: Receiver, count: int) -> bool:
    return len(receiver.accepted_ids()) >= count


async def test_a_4xx_is_final_and_the_failed_delivery_is_listed(hooks_app: HooksFactory) -> None:
    receiver = Receiver(script=["410"])
    async with running_receiver(receiver), hooks_app(webhook_allow_private=True) as hooks:
        endpoint = await hooks.register(receiver.url)
        gone, kept = mql_envelope("lead-x"), mql_envelope("lead-x", episode=2)
        await publish(hooks.bootstrap, hooks.topics.mql, [gone, kept])
        rows = await hooks.wait_finished(endpoint["id"], 2)
        by_id = {r["webhook_id"]: r for r in rows}
        assert by_id[gone.id]["status"] == "failed" and by_id[gone.id]["attempts"] == 1
        assert by_id[gone.id]["last_status_code"] == 410
        assert by_id[kept.id]["status"] == "delivered"  # the lead's next event was not held up for ever
        assert receiver.accepted_ids() == [kept.id]

        replayed = await hooks.client.post(
            f"/v1/webhooks/{endpoint['id']}/replay", json={"event_id": gone.id}
        )
        assert replayed.status_code == 200 and replayed.json()["replayed"] == 2, replayed.text

        async def both_replayed() -> bool:  # kept once, then gone and kept again
            return len(receiver.accepted()) >= 3

        await wait_until(both_replayed, timeout_s=30, what="the replay accepted")
        assert receiver.accepted_ids() == [kept.id, gone.id]

        async def both_replayed() -> bool:  # kept's second delivery comes after gone's
            return len(receiver.accepted()) >= 3

        await wait_until(both_replayed, timeout_s=30, what="both replays accepted")
        assert [r.webhook_id for r in receiver.accepted()][-2:] == [gone.id, kept.id]  # replayed in order


async def test_during_a_rotation_both_secrets_sign_and_after_it_only_the_new_one(
    hooks_app: HooksFactory,
) -> None:
    receiver = Receiver()
    async with running_receiver(receiver), hooks_app(webhook_allow_private=True) as hooks:
        endpoint = await hooks.register(receiver.url)
        old = endpoint["secret"]
        rotated = await hooks.client.post(
            f"/v1/webhooks/{endpoint['id']}/secret", json={"grace_seconds": 3600}
        )
        new = rotated.json()["secret"]
        during = mql_envelope("lead-r")
        await publish(hooks.bootstrap, hooks.topics.mql, [during])
        await wait_until(lambda: _at_least(receiver, 1), timeout_s=30, what="a delivery")
        first = receiver.accepted()[0]
        assert first.verifies_with(old) and first.verifies_with(new)
        assert len(first.headers["webhook-signature"].split(" ")) == 2

        ended = await hooks.client.post(f"/v1/webhooks/{endpoint['id']}/secret", json={"grace_seconds": 0})
        newest = ended.json()["secret"]
        assert ended.json()["previous_secret_valid_until"] is None
        tested = await hooks.client.post(f"/v1/webhooks/{endpoint['id']}/test")
        assert tested.status_code == 200 and tested.json()["delivered"] is True, tested.text
        last = receiver.accepted()[-1]
        assert last.webhook_id == tested.json()["webhook_id"]
        assert last.verifies_with(newest) and not last.verifies_with(new) and not last.verifies_with(old)


async def test_an_address_that_turned_internal_is_refused_at_connection(hooks_app: HooksFactory) -> None:
    receiver = Receiver()
    async with running_receiver(receiver), hooks_app() as hooks:
        endpoint = await hooks.register("https://93.184.215.14/hook")
        # what a DNS answer changing after registration amounts to: the target is now loopback
        async with hooks.app.state.handoff.database.engine.begin() as conn:
            await conn.execute(
                update(webhook_endpoints)
                .where(webhook_endpoints.c.endpoint_id == endpoint["id"])
                .values(url=receiver.url.replace("http://", "https://"))
            )
        event = mql_envelope("lead-s")
        await publish(hooks.bootstrap, hooks.topics.mql, [event])
        rows = await hooks.wait_finished(endpoint["id"], 1)
        assert rows[0]["status"] == "failed" and "loopback" in rows[0]["last_error"], rows
        tested = await hooks.client.post(f"/v1/webhooks/{endpoint['id']}/test")
        assert tested.json()["delivered"] is False and "refused" in tested.json()["error"]
        assert receiver.received == []


async def test_an_endpoint_failing_past_the_limit_is_disabled_and_enabling_resumes_it(
    hooks_app: HooksFactory,
) -> None:
    receiver = Receiver(default="500")
    async with (
        running_receiver(receiver),
        hooks_app(webhook_allow_private=True, webhook_disable_after_s=0.5) as hooks,
    ):
        endpoint = await hooks.register(receiver.url)
        event = mql_envelope("lead-d")
        await publish(hooks.bootstrap, hooks.topics.mql, [event])

        async def disabled() -> dict | None:  # type: ignore[type-arg]
            state = (await hooks.client.get(f"/v1/webhooks/{endpoint['id']}")).json()
            return state if state["state"] == "disabled" else None

        state = await wait_until(disabled, timeout_s=30, what="the endpoint disabled")
        assert "every delivery failed since" in state["disabled_reason"]  # type: ignore[index]
        receiver.default = "200"
        enabled = await hooks.client.patch(f"/v1/webhooks/{endpoint['id']}", json={"enabled": True})
        assert enabled.json()["state"] == "enabled" and enabled.json()["disabled_reason"] is None
        await wait_until(lambda: _at_least(receiver, 1), timeout_s=30, what="delivered after enabling")
        assert receiver.accepted_ids() == [event.id]
