"""A SIGKILL of the handoff process (and so of its dispatcher) while deliveries are in flight loses
nothing: after a restart every event reaches the receiver, each lead's in order."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.conftest import API_KEY_ALL
from tests.integration.handoff.data import POLICY, mql_envelope
from tests.integration.handoff.webhooks.receiver import Receiver, running_receiver
from tests.support import ServiceProcess, free_port, publish, wait_ready, wait_until

LEADS = ("lead-k1", "lead-k2", "lead-k3", "lead-k4")


async def test_sigkill_mid_delivery_loses_nothing(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    process_env = {
        **env,
        "LEADSTATE_HANDOFF_PORT": str(port),
        "LEADSTATE_POLICY_PATH": str(POLICY),
        "LEADSTATE_WEBHOOK_ALLOW_PRIVATE": "true",
        "LEADSTATE_WEBHOOK_TIMEOUT_S": "1",
        "LEADSTATE_WEBHOOK_BACKOFF_BASE_S": "0.1",
        "LEADSTATE_WEBHOOK_POLL_S": "0.2",
    }
    url = f"http://127.0.0.1:{port}"
    handoff = ServiceProcess("handoff", process_env, tmp_path)
    receiver = Receiver(delay_s=0.3)  # slow enough that the kill finds deliveries in flight
    async with running_receiver(receiver):
        handoff.start()
        try:
            await wait_ready(url, timeout_s=60)
            async with httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {API_KEY_ALL}"}
            ) as api:
                created = await api.post("/v1/webhooks", json={"url": receiver.url, "events": ["lead.mql"]})
                assert created.status_code == 201, created.text
            secret = created.json()["secret"]
            events = [mql_envelope(lead, episode=n) for n in range(1, 6) for lead in LEADS]
            await publish(env["LEADSTATE_KAFKA_BOOTSTRAP"], env["LEADSTATE_TOPIC_MQL"], events)

            async def some_arrived() -> bool:
                return len(receiver.received) >= 4

            await wait_until(some_arrived, timeout_s=60, what="the first deliveries")
            assert handoff.stop(signal.SIGKILL) == -signal.SIGKILL
            in_flight_at_kill = len(receiver.accepted_ids())
            assert in_flight_at_kill < len(events), "everything was delivered before the kill"

            handoff.start()
            await wait_ready(url, timeout_s=60)

            async def all_arrived() -> bool:
                return len(receiver.accepted_ids()) >= len(events)

            await wait_until(all_arrived, timeout_s=120, what="every event after the restart")
        finally:
            handoff.stop()
    accepted = receiver.accepted_ids()
    assert sorted(accepted) == sorted(e.id for e in events)
    for lead in LEADS:
        published = [e.id for e in events if e.subject == lead]
        assert [i for i in accepted if i in published] == published, lead
    assert all(r.verifies_with(secret) for r in receiver.received)
    assert secret not in handoff.log() and secret.removeprefix("whsec_") not in handoff.log()  # never logged
