"""The qualifier's own HTTP API on the running worker: a lead's timeline with its score after each event,
the anonymous part stitched in, and how the running policy explains the lead; unknown leads are 404."""

from __future__ import annotations

import httpx

from services.qualifier.stitching import lead_id_for
from tests.conftest import API_KEY_READ
from tests.integration.qualifier.conftest import Qualifier, at, download, identify, seminar_attended


async def test_timeline_has_the_anonymous_part_and_the_score_after_each_event(qualifier: Qualifier) -> None:
    envelopes = [
        download(at(0), "wp-lead-scoring", anon="a-tl"),
        download(at(5), "ebook-lead-nurturing", anon="a-tl"),
        identify(at(10), user="u-tl", anon="a-tl"),
        seminar_attended(at(20), user="u-tl"),
    ]
    await qualifier.publish(envelopes)
    await qualifier.wait_stored(envelopes)
    lead_id = lead_id_for("user:u-tl")
    headers = {"Authorization": f"Bearer {API_KEY_READ}"}
    async with httpx.AsyncClient(base_url=qualifier.url, headers=headers) as api:
        answer = await api.get(f"/v1/leads/{lead_id}/timeline")
        assert answer.status_code == 200, answer.text
        timeline = answer.json()
        assert timeline["lead_id"] == lead_id and timeline["policy_version"]
        events = timeline["events"]
        assert [e["kind"] for e in events] == ["track", "track", "identify", "track"]
        assert [e["anonymous"] for e in events] == [True, True, False, False]  # stitched in from a-tl
        assert "Seminar Attended" in events[-1]["text"] and "wp-lead-scoring" in events[0]["text"]
        # the same words as data, for a console that renders another language
        assert events[0]["params"] == {"event": "Content Downloaded", "detail": "wp-lead-scoring"}
        assert events[2]["params"] == {"who": "u-tl@example.test", "title": "Marketing Manager"}
        seminar = {"event": "Seminar Attended", "detail": "MQL design with sales", "topic": "lead-management"}
        assert events[-1]["params"] == seminar
        scores = [e["score"] for e in events]
        assert all(s is not None for s in scores) and scores[-1] > scores[0] > 0, scores

        explained = await api.get("/v1/leads/u-tl/explain")  # by user id: resolved to the lead
        assert explained.status_code == 200, explained.text
        explanation = explained.json()
        assert explanation["lead_id"] == lead_id and explanation["rules"]
        assert {"rule", "matched", "met", "missing"} <= set(explanation["rules"][0])
        assert explanation["lines"][0].startswith(f"lead {lead_id}")

        for path in ("/v1/leads/nobody/timeline", "/v1/leads/nobody/explain"):
            missing = await api.get(path)
            assert missing.status_code == 404, path
            assert missing.headers["content-type"] == "application/problem+json"
        control = await api.get("/v1/leads/a%01b/timeline")
        assert control.status_code == 422 and control.json()["errors"][0]["field"] == "path.lead_id"
        unknown = await api.get(f"/v1/leads/{lead_id}/timeline", params={"limit": 5})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "query.limit"
