"""The advisor on account rules over the stored log: ninety companies' buying groups stored under a
deliberately wrong account rule (any two engaged people, no role), sales having made SQL exactly the
accounts whose group included a decision maker, and no decided MQL at all. Read from the database (the
lab's account pass, cluster by cluster, on two processes) the advice is the one worked out in memory:
require a decision maker; over HTTP the request is accepted though the lead rules have no decisions, and a
minimum neither kind reaches is a 409 saying what each lacks."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.common.policy import load_policy
from services.qualifier.advisor.advisor import suggest_on_entries
from services.qualifier.advisor.source import suggest
from tests.history import History
from tests.integration.lab.conftest import Lab, Recorded, store
from tests.integration.lab.test_advisor_console import logged_in, text_of
from tests.integration.lab.test_lab_accounts import finished_job
from tests.unit.qualifier.test_advisor_accounts import COMPANIES, WRONG, buying_groups


@pytest.fixture
async def wrong_groups(database_url: str) -> Recorded:
    wrong = load_policy(WRONG, "wrong.yaml")
    history = History(buying_groups(wrong, seed=11), {})
    await store(database_url, history, wrong)
    return Recorded(database_url, history)


@pytest.fixture
def lab_policy(tmp_path: Path) -> Path:
    """The lab's qualifier runs the wrong account rule the history was made under."""
    path = tmp_path / "wrong.yaml"
    path.write_text(WRONG, encoding="utf-8")
    return path


async def test_the_stored_log_gives_the_advice_worked_out_in_memory(wrong_groups: Recorded) -> None:
    stored = await suggest(wrong_groups.database_url, WRONG, policy_name="wrong.yaml", workers=2)
    whole = suggest_on_entries(wrong_groups.history.entries, WRONG, policy_name="wrong.yaml")
    assert stored["history"]["decided_mqas"] == COMPANIES
    assert stored["account_rules"] == whole["account_rules"]
    assert [(s["sentence"], s["patch"]) for s in stored["suggestions"]] == [
        (s["sentence"], s["patch"]) for s in whole["suggestions"]
    ]
    top = stored["suggestions"][0]
    assert top["subject"] == "account"
    assert top["edit"] == {"code": "require_role", "params": {"role": "decision_maker"}}
    assert [n["code"] for n in stored["not_advised"]] == ["no_decisions"]


async def test_http_advises_on_accounts_when_only_mqas_were_decided(wrong_groups: Recorded, lab: Lab) -> None:
    answer = await lab.client.post("/v1/policy/suggestions", json={})
    assert answer.status_code == 202, answer.text
    job = await finished_job(lab.client, answer.headers["Location"])
    [first, *_] = job["advice"]["suggestions"]
    assert first["subject"] == "account" and first["edit"]["params"] == {"role": "decision_maker"}
    assert "+        any_of: [decision_maker]" in first["patch"]
    few = await lab.client.post("/v1/policy/suggestions", json={"min_decisions": COMPANIES + 1})
    assert few.status_code == 409, few.text
    problem = few.json()
    assert problem["code"] == "no_decisions"
    assert problem["params"]["accounts"]["code"] == "too_few_account_decisions"
    assert f"for account rules: only {COMPANIES} decided MQAs" in problem["detail"]


async def test_the_console_shows_account_suggestions_in_both_languages(
    wrong_groups: Recorded, lab: Lab, lab_console: str
) -> None:
    async with httpx.AsyncClient(base_url=lab_console, follow_redirects=False, timeout=60) as browser:
        csrf = await logged_in(browser)
        asked = await browser.post("/console/policy/suggestions", data={"csrf": csrf, "min_decisions": "30"})
        assert asked.status_code == 303, asked.text
        location = asked.headers["location"]
        job_id = location.split("suggestions=")[1].split("#")[0]
        job = await finished_job(lab.client, f"/v1/policy/suggestions/{job_id}")
        top = job["advice"]["suggestions"][0]
        page = text_of((await browser.get(location)).text)
        head = top["sentence"].partition(" would have")[0]
        assert head == "Requiring a decision maker among the engaged members on 'buying-group-forming'"
        assert head in page and f"Account rules: on {COMPANIES} decided MQAs." in page
        assert "No advice on the lead rules: no sales decisions recorded" in page
        japanese = text_of((await browser.get(location, headers={"Accept-Language": "ja"})).text)
        assert (
            "アカウントルール「buying-group-forming」で関与メンバーに決裁者がいることを条件にしていれば"
            in japanese
        )
        assert f"判定済みMQA {COMPANIES}件" in japanese and "リードのルールへの提案はありません" in japanese
