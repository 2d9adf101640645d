"""The policy lab covers account rules: on a stored history of three companies' buying groups and sales'
decisions on their MQAs, a candidate whose account rule needs four engaged people instead of three loses
exactly the two three-person accounts (one of them a past SQL, the other a rejection), keeps the four-person
SQL, and says so in the CLI's table, Markdown and JSON, in the qualifier's HTTP report and on the console's
policy page (which lists the account rules as sentences too); run the other way round, it gains them back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.policy import load_policy
from services.common.policy.account_explain import describe_account_rules
from services.qualifier.lab.fold import fold_entries
from services.qualifier.lab.render import render
from services.qualifier.lab.report import build_report
from services.qualifier.lab.simulate import simulate
from tests.integration.lab.conftest import (
    FOCUSED,
    LOOSE,
    Lab,
    Recorded,
    account_of,
    buying_groups_history,
    policy,
    stricter_accounts,
)
from tests.integration.lab.test_advisor_console import logged_in, text_of
from tests.integration.lab.test_lab_api import YAML
from tests.integration.lab.test_lab_console import RUN
from tests.integration.lab.test_lab_simulate import leadstate
from tests.support import wait_until

JA = {"Accept-Language": "ja"}

ACME, BOLT, CARGO = account_of("acme"), account_of("bolt"), account_of("cargo")


def stricter(tmp_path: Path) -> Path:
    path = tmp_path / "four.yaml"
    path.write_text(stricter_accounts(FOCUSED.read_text()))
    return path


async def test_a_stricter_account_rule_loses_two_mqas_and_one_past_sql(buying_groups: Recorded) -> None:
    default = FOCUSED.read_text()
    report = await simulate(buying_groups.database_url, default, stricter_accounts(default), workers=2)
    a = report["accounts"]
    assert a["history"] == {"decided_mqas": 3, "sqls": 2, "not_sqls": 1}
    assert a["mqas"] == {"baseline": 3, "candidate": 1}
    assert a["accounts_lost"] == {"count": 2, "examples": [ACME, CARGO]}
    assert a["accounts_gained"] == {"count": 0, "examples": []}
    # the baseline is the policy the history was made under: every decision on an MQA lands on its MQA
    assert (a["sql_rate"]["baseline"]["decided"], a["sql_rate"]["baseline"]["sqls"]) == (3, 2)
    assert (a["sql_rate"]["candidate"]["decided"], a["sql_rate"]["candidate"]["sqls"]) == (1, 1)
    recall = a["sql_recall"]
    assert (recall["past_sqls"], recall["still_qualified"], recall["missed_examples"]) == (2, 1, [CARGO])
    assert recall["later"] == 1  # bolt qualifies when its fourth person reads, a day later
    assert recall["median_shift_hours"] == 24.0
    rejections = a["rejections"]
    assert (rejections["past_not_sqls"], rejections["no_longer_sent"]) == (1, 1)
    assert [(r["code"], r["past"], r["no_longer_sent"]) for r in rejections["by_reason"]] == [
        ("no_shared_project", 1, 1)
    ]
    [rule] = a["rules"]
    assert rule["rule"] == "buying-group-forming"
    assert (rule["baseline"]["mqas"], rule["candidate"]["mqas"]) == (3, 1)
    assert (rule["accounts_gained"], rule["accounts_lost"], rule["past_sqls"], rule["past_sqls_kept"]) == (
        0,
        2,
        2,
        1,
    )
    # the lead figures stand beside them, untouched by account decisions
    assert report["history"]["decided_mqls"] == 0


async def test_the_other_way_round_gains_them_back(buying_groups: Recorded) -> None:
    default = FOCUSED.read_text()
    report = await simulate(buying_groups.database_url, stricter_accounts(default), default, workers=1)
    a = report["accounts"]
    assert a["mqas"] == {"baseline": 1, "candidate": 3}
    assert a["accounts_gained"] == {"count": 2, "examples": [ACME, CARGO]}
    assert a["accounts_lost"]["count"] == 0
    assert (a["sql_recall"]["past_sqls"], a["sql_recall"]["still_qualified"]) == (2, 2)
    assert (a["rejections"]["past_not_sqls"], a["rejections"]["no_longer_sent"]) == (1, 0)
    # the decisions on acme and cargo did not land on the stricter baseline: sales never saw those MQAs
    assert (a["sql_rate"]["baseline"]["decided"], a["sql_rate"]["candidate"]["decided"]) == (1, 3)


async def test_the_stored_log_folds_accounts_as_one_fold_of_the_whole_history(
    buying_groups: Recorded,
) -> None:
    default, four = policy(FOCUSED), stricter_accounts(FOCUSED.read_text())
    candidate = load_policy(four, "four")
    whole = build_report(fold_entries(buying_groups.history.entries, default, candidate), default, candidate)
    stored = await simulate(buying_groups.database_url, FOCUSED.read_text(), four, workers=2)
    assert whole["accounts"]["mqas"]["baseline"] == 3 and stored == whole


def test_the_cli_reports_account_rules_in_each_format(buying_groups: Recorded, tmp_path: Path) -> None:
    four = stricter(tmp_path)
    args = ("simulate", str(four), "--baseline", str(FOCUSED))
    table = leadstate(*args, database_url=buying_groups.database_url)
    assert table.returncode == 0, table.stderr
    out = table.stdout
    assert "Accounts (MQAs)" in out and "3 decided MQAs (2 SQL, 1 not SQL)" in out
    assert "MQAs: baseline 3 on 3 accounts; candidate 1 on 1 accounts" in out
    assert f"accounts lost: 2 (e.g. {ACME}, {CARGO})" in out and "accounts gained: none" in out
    assert "past account SQLs still qualified: 1 of 2 (recall 50.0%" in out and f"e.g. {CARGO}" in out
    assert "past not-SQL account decisions no longer sent: 1 of 1" in out
    assert "buying-group-forming  3              1               0       2     1 of 2" in out
    markdown = leadstate(*args, "--format", "markdown", database_url=buying_groups.database_url)
    assert "## Per account rule" in markdown.stdout
    assert "| buying-group-forming | 3 | 1 | 0 | 2 | 1 of 2 |" in markdown.stdout
    as_json = leadstate(*args, "--format", "json", database_url=buying_groups.database_url)
    assert json.loads(as_json.stdout)["accounts"]["accounts_lost"]["count"] == 2


def test_diff_names_the_account_rule_change(tmp_path: Path) -> None:
    done = leadstate("diff", str(FOCUSED), str(stricter(tmp_path)), database_url="")
    assert done.returncode == 0, done.stderr
    assert "Account rule 'buying-group-forming' changed." in done.stdout
    assert (
        "Before: Account rule 'buying-group-forming' makes an account an MQA when at least 3" in done.stdout
    )
    assert "After: Account rule 'buying-group-forming' makes an account an MQA when at least 4" in done.stdout


@pytest.fixture
def lab_policy() -> Path:
    """The lab's qualifier and its console run the default policy (with its account rule)."""
    return FOCUSED


async def finished_job(client: httpx.AsyncClient, location: str) -> dict[str, Any]:
    async def done() -> bool:
        polled = await client.get(location)
        assert polled.status_code == 200, polled.text
        return polled.json()["status"] in ("done", "failed")

    await wait_until(done, timeout_s=300, what="the simulation to finish")
    job: dict[str, Any] = (await client.get(location)).json()
    assert job["status"] == "done", job["error"]
    return job


async def test_the_http_report_carries_the_account_figures(
    buying_groups: Recorded, lab: Lab, tmp_path: Path
) -> None:
    answer = await lab.client.post(
        "/v1/policy/simulations", content=stricter(tmp_path).read_bytes(), headers=YAML
    )
    assert answer.status_code == 202, answer.text
    job = await finished_job(lab.client, answer.headers["Location"])
    cli = json.loads(
        leadstate(
            "simulate",
            str(stricter(tmp_path)),
            "--baseline",
            str(FOCUSED),
            "--format",
            "json",
            database_url=buying_groups.database_url,
        ).stdout
    )
    a = job["report"]["accounts"]
    assert a == cli["accounts"]  # the same numbers as the CLI's
    assert a["mqas"] == {"baseline": 3, "candidate": 1} and a["accounts_lost"]["count"] == 2
    assert (a["sql_recall"]["past_sqls"], a["sql_recall"]["still_qualified"]) == (2, 1)
    assert a["rejections"]["no_longer_sent"] == 1
    listed = (await lab.client.get("/v1/policy/simulations")).json()["simulations"]
    assert listed[0]["report"]["accounts"] == a


async def test_the_console_shows_account_rules_and_the_simulations_account_figures(
    buying_groups: Recorded, lab: Lab, lab_console: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=lab_console, follow_redirects=False, timeout=60) as browser:
        csrf = await logged_in(browser)
        page = text_of((await browser.get("/console/policy")).text)
        assert "Account rules (MQA)" in page
        [sentence] = describe_account_rules(policy(FOCUSED))
        assert sentence in page
        japanese = text_of((await browser.get("/console/policy", headers=JA)).text)
        [sentence_ja] = describe_account_rules(policy(FOCUSED), "ja")
        assert "アカウントルール（MQA）" in japanese and sentence_ja in japanese

        asked = await browser.post(RUN, data={"csrf": csrf, "candidate": stricter(tmp_path).read_text()})
        assert asked.status_code == 303, asked.text
        location = asked.headers["location"]
        job_id = location.split("simulation=")[1].split("#")[0]
        await finished_job(lab.client, f"/v1/policy/simulations/{job_id}")
        page = text_of((await browser.get(location)).text)
        assert "Accounts (MQAs)" in page
        assert "Past account SQLs still qualified: 1 of 2." in page
        assert "Past not-SQL account decisions no longer sent: 1 of 1." in page
        assert "Accounts gained: 0; accounts lost: 2." in page
        assert "buying-group-forming 3 1 0 2 1 / 2" in page
        japanese = text_of((await browser.get(location, headers=JA)).text)
        assert "過去にSQLとしたアカウントのうち変更案でもMQAになるもの：2件中 1件。" in japanese
        assert "新たにMQAになるアカウント：0件、MQAでなくなるアカウント：2件。" in japanese


def test_a_candidate_without_account_rules_loses_every_mqa_and_says_so() -> None:
    default, loose = policy(FOCUSED), policy(LOOSE)
    history = buying_groups_history(default)
    report = build_report(fold_entries(history.entries, default, loose), default, loose)
    a = report["accounts"]
    assert a["mqas"] == {"baseline": 3, "candidate": 0}
    assert a["accounts_lost"]["examples"] == [ACME, BOLT, CARGO]
    assert (a["sql_recall"]["past_sqls"], a["sql_recall"]["still_qualified"]) == (2, 0)
    [rule] = a["rules"]
    assert rule["candidate"] is None and rule["accounts_lost"] == 3
    table = render(report, "table")
    assert "SQL rate: baseline 66.7% [20.8%, 93.8%] on 3 decided; candidate n/a (no decided MQAs)" in table
    assert "buying-group-forming  3              -               0       3     0 of 2" in table
    # and neither policy with account rules: no account section at all
    assert build_report(fold_entries(history.entries, loose, loose), loose, loose)["accounts"] is None
