"""Managing endpoints: the secret shown once, every bad input a problem naming its field, 404s, and the
address rules at registration (https only, no loopback, private, link-local or metadata address)."""

from __future__ import annotations

import pytest

from tests.integration.handoff.webhooks.conftest import HooksFactory

PROBLEM = "application/problem+json"


def _field_problem(answer, status: int, field: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert field in [e["field"] for e in answer.json()["errors"]], answer.text


async def test_an_endpoint_is_created_read_changed_and_removed_and_its_secret_shown_once(
    hooks_app: HooksFactory,
) -> None:
    async with hooks_app(webhook_allow_private=True) as hooks:
        created = await hooks.register("http://127.0.0.1:9/hook", description="CRM")
        assert created["secret"].startswith("whsec_") and created["state"] == "enabled"
        webhook_id = created["id"]
        read = (await hooks.client.get(f"/v1/webhooks/{webhook_id}")).json()
        listed = (await hooks.client.get("/v1/webhooks")).json()["webhooks"]
        assert "secret" not in read and all("secret" not in w for w in listed)
        assert created["secret"] not in (await hooks.client.get("/v1/webhooks")).text
        assert [w["id"] for w in listed] == [webhook_id]

        paused = await hooks.client.patch(
            f"/v1/webhooks/{webhook_id}", json={"enabled": False, "events": ["lead.mql", "lead.decision"]}
        )
        assert paused.status_code == 200, paused.text
        assert paused.json()["state"] == "paused" and paused.json()["events"] == ["lead.decision", "lead.mql"]

        rotated = await hooks.client.post(f"/v1/webhooks/{webhook_id}/secret", json={"grace_seconds": 600})
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["secret"] != created["secret"]
        assert rotated.json()["previous_secret_valid_until"] is not None

        assert (await hooks.client.delete(f"/v1/webhooks/{webhook_id}")).status_code == 204
        gone = await hooks.client.get(f"/v1/webhooks/{webhook_id}")
        assert gone.status_code == 404 and gone.headers["content-type"] == PROBLEM


async def test_bad_bodies_and_unknown_ids_answer_problems_naming_the_field(hooks_app: HooksFactory) -> None:
    async with hooks_app(webhook_allow_private=True) as hooks:
        post = hooks.client.post
        _field_problem(await post("/v1/webhooks", json={"events": ["lead.mql"]}), 422, "url")
        _field_problem(
            await post("/v1/webhooks", json={"url": "http://x.test", "events": ["x"]}), 422, "events.0"
        )
        _field_problem(await post("/v1/webhooks", json={"url": "http://x.test", "events": []}), 422, "events")
        _field_problem(
            await post(
                "/v1/webhooks", json={"url": "http://127.0.0.1/", "events": ["lead.mql"], "colour": 1}
            ),
            422,
            "colour",
        )
        _field_problem(
            await post(
                "/v1/webhooks",
                json={"url": "http://127.0.0.1/", "events": ["lead.decision"], "format": "slack"},
            ),
            422,
            "events",
        )
        _field_problem(
            await post("/v1/webhooks", json={"url": "ftp://127.0.0.1/", "events": ["lead.mql"]}), 422, "url"
        )
        _field_problem(
            await post("/v1/webhooks", json={"url": "http://u:p@127.0.0.1/", "events": ["lead.mql"]}),
            422,
            "url",
        )
        created = await hooks.register("http://127.0.0.1:9/hook")
        webhook_id = created["id"]
        _field_problem(await hooks.client.patch(f"/v1/webhooks/{webhook_id}", json={"url": None}), 422, "url")
        _field_problem(await hooks.client.patch(f"/v1/webhooks/{webhook_id}", json={}), 422, "body")
        _field_problem(await post(f"/v1/webhooks/{webhook_id}/replay", json={}), 422, "body")
        _field_problem(
            await post(f"/v1/webhooks/{webhook_id}/replay", json={"event_id": "nope"}), 422, "event_id"
        )
        _field_problem(
            await post(f"/v1/webhooks/{webhook_id}/replay", json={"since": "yesterday"}), 422, "since"
        )
        _field_problem(
            await post(f"/v1/webhooks/{webhook_id}/secret", json={"grace_seconds": -1}), 422, "grace_seconds"
        )
        _field_problem(
            await hooks.client.get(f"/v1/webhooks/{webhook_id}/deliveries", params={"status": "lost"}),
            422,
            "query.status",
        )
        for method, path in (
            ("GET", "/v1/webhooks/wh_nope"),
            ("PATCH", "/v1/webhooks/wh_nope"),
            ("DELETE", "/v1/webhooks/wh_nope"),
            ("POST", "/v1/webhooks/wh_nope/secret"),
            ("POST", "/v1/webhooks/wh_nope/test"),
            ("GET", "/v1/webhooks/wh_nope/deliveries"),
            ("POST", "/v1/webhooks/wh_nope/replay"),
        ):
            body = {"json": {"enabled": True}} if method == "PATCH" else {}
            if path.endswith("replay"):
                body = {"json": {"event_id": "e"}}
            answer = await hooks.client.request(method, path, **body)
            assert answer.status_code == 404, f"{method} {path}: {answer.status_code} {answer.text}"
            assert answer.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.215.14/hook", "only https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://100.64.0.1/hook", "public"),
        ("https://metadata/computeMetadata/v1", "single-label"),
        ("https://metadata.google.internal/", "internal name"),
        ("https://printer.local/", "internal name"),
        ("https://bad_name.example.com/", "not a valid host name"),
    ],
)
async def test_registration_refuses_non_https_and_internal_addresses(
    hooks_app: HooksFactory, url: str, why: str
) -> None:
    async with hooks_app() as hooks:
        answer = await hooks.client.post("/v1/webhooks", json={"url": url, "events": ["lead.mql"]})
        _field_problem(answer, 422, "url")
        assert why in answer.json()["detail"], answer.text
        assert (await hooks.client.get("/v1/webhooks")).json()["webhooks"] == []
        created = await hooks.client.post(
            "/v1/webhooks", json={"url": "https://93.184.215.14/", "events": ["lead.mql"]}
        )
        assert created.status_code == 201, created.text  # a public https address is accepted
        moved = await hooks.client.patch(f"/v1/webhooks/{created.json()['id']}", json={"url": url})
        _field_problem(moved, 422, "url")
