"""The qualifier's commands as a user runs them (subprocesses): `policy check`, `policy explain`, `replay`
(and `replay --write` rebuilding accounts), and a policy that fails validation stopping the qualifier's
start-up with exit code 2 and line numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from services.qualifier.stitching import lead_id_for
from tests.integration.qualifier.conftest import (
    Qualifier,
    at,
    download,
    identify,
    segment,
    seminar_attended,
    write_policy,
)
from tests.support import ROOT, free_port, read_envelopes, wait_until

DEFAULT = (ROOT / "policies/default.yaml").read_text(encoding="utf-8")


def leadstate(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def score_only_policy(tmp_path: Path) -> tuple[Path, int]:
    """The default policy with its first rule's behaviour and attributes replaced by a score alone."""
    text = DEFAULT.replace(
        """      behaviour:
        seminar_attended: {topics: any}
      attributes:
        industry_in: target
        title_level_at_least: manager
""",
        """      score:
        min: 30
""",
        1,
    )
    assert text != DEFAULT
    lines = text.splitlines()
    when = next(i for i, line in enumerate(lines, 1) if line.strip() == "when:" and "score:" in lines[i])
    return write_policy(tmp_path, text), when


def test_policy_check_prints_each_rule_as_a_sentence(tmp_path: Path) -> None:
    done = leadstate("policy", "check", "policies/default.yaml", cwd=tmp_path)  # relative: from the repo root
    assert done.returncode == 0, done.stderr
    assert "version 2026.1, 4 rules" in done.stdout
    assert "Rule 'seminar-attendee' makes a known lead an MQL when it attended a seminar" in done.stdout
    japanese = leadstate("policy", "check", "policies/default.yaml", "--language", "ja", cwd=tmp_path)
    assert japanese.returncode == 0, japanese.stderr
    assert (
        "ルール「seminar-attendee」：既知のリードが次の条件をすべて満たすとMQLになります。" in japanese.stdout
    )
    assert "アカウントルール「buying-group-forming」：企業が次の条件をすべて満たすとMQAになります。" in (
        japanese.stdout
    )
    assert "その中に決裁者または推進者がいる" in japanese.stdout
    assert (
        "1 account rules (MQA); buying-group roles: decision maker, budget holder, champion, user"
        in done.stdout
    )
    assert (
        "Account rule 'buying-group-forming' makes an account an MQA when at least 3 of its people"
        in done.stdout
    )


def test_policy_check_reports_texts_missing_a_language_the_deployment_uses(tmp_path: Path) -> None:
    done = leadstate("policy", "check", "policies/default.yaml")
    assert done.returncode == 0, done.stderr
    assert "missing language" not in done.stdout  # the shipped policy speaks ja and en everywhere
    text = (ROOT / "policies" / "default.yaml").read_text(encoding="utf-8")
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace("label: {ja: 予算なし, en: No budget}", "label: {en: No budget}"), "utf-8")
    done = leadstate("policy", "check", str(path))
    assert done.returncode == 0, done.stderr
    assert "missing language: reason no_budget: no ja text" in done.stdout
    assert "1 texts lack a language this deployment uses (ja, en)" in done.stdout
    english_only = leadstate("policy", "check", str(path), env={"LEADSTATE_LANGUAGES": "en"})
    assert "missing language" not in english_only.stdout, english_only.stdout


def test_policy_check_refuses_a_score_only_rule_naming_the_line(tmp_path: Path) -> None:
    path, line = score_only_policy(tmp_path)
    done = leadstate("policy", "check", str(path))
    assert done.returncode == 2
    assert f"{path}:{line}:" in done.stderr and "seminar-attendee" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_invalid_policy_stops_qualifier_start_up(tmp_path: Path, env: dict[str, str]) -> None:
    path, line = score_only_policy(tmp_path)
    port = str(free_port())
    done = leadstate(
        "qualifier", env={**env, "LEADSTATE_POLICY_PATH": str(path), "LEADSTATE_QUALIFIER_PORT": port}
    )
    assert done.returncode == 2, done.stderr
    assert f"{path}:{line}:" in done.stderr and "Traceback" not in done.stderr


async def test_explain_and_replay_of_a_live_lead(qualifier: Qualifier, env: dict[str, str]) -> None:
    await qualifier.publish(
        [identify(at(0), user="u-cli", anon="a-cli"), seminar_attended(at(60), user="u-cli")]
    )
    await read_envelopes(qualifier.bootstrap, qualifier.topics.mql, expect=1)

    for ref in ("u-cli", lead_id_for("user:u-cli"), "u-cli@example.test", "a-cli"):
        done = leadstate("policy", "explain", ref, "--at", at(61).isoformat(), env=env)
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert f"lead {lead_id_for('user:u-cli')}: stage mql, episode 1" in out
        assert "[x] seminar-attendee" in out and "[ ] topic-researcher" in out
        assert "missing:" in out and "no new MQL now: episode 1 is open" in out
    unknown = leadstate("policy", "explain", "nobody", env=env)
    assert unknown.returncode == 1 and "no lead 'nobody'" in unknown.stderr

    done = leadstate("replay", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replayed 2 events under policy 2026.1: 1 leads" in done.stdout
    assert "seminar-attendee: 1" in done.stdout and "no differences from the stored state" in done.stdout


async def test_replay_write_rebuilds_accounts_members_and_mqas(
    qualifier: Qualifier, env: dict[str, str]
) -> None:
    """After an upgrade (or a lost row) the stored accounts may not be what the log makes: `replay` names
    each difference, `replay --write` rebuilds accounts, their members and the MQA register, and a
    replay then finds none."""
    domain, day = "kobe-works.example", 24 * 60
    account_id = f"domain:{domain}"
    people = [
        ("dir", "Director of Operations", "wp-lead-scoring"),
        ("mgr", "Marketing Manager", "wp-mql-sql-guide"),
        ("eng", "Marketing Specialist", "ebook-ma-selection"),
    ]
    traits = {"industry": "manufacturing", "company": "Kobe Works", "company_size": 250}
    envelopes = [
        segment("identify", at(i), user=who, traits={"email": f"{who}@{domain}", "title": title, **traits})
        for i, (who, title, _) in enumerate(people)
    ] + [download(at(day * (i + 1)), asset, user=who) for i, (who, _, asset) in enumerate(people)]
    await qualifier.publish(envelopes)
    await qualifier.wait_stored(envelopes)

    async def registered() -> bool:
        return await qualifier.count("SELECT count(*) FROM qualifier.mqas") == 1

    await wait_until(registered, what="the MQA registered")
    clean = leadstate("replay", env=env)
    assert clean.returncode == 0 and "no differences from the stored state" in clean.stdout, clean.stdout

    eng = lead_id_for("user:eng")
    await qualifier.db.execute(
        "UPDATE qualifier.accounts SET stage = 'open', episode = 0, attributes = '{}' WHERE account_id = $1",
        account_id,
    )
    await qualifier.db.execute("DELETE FROM qualifier.account_members WHERE lead_id = $1", eng)
    await qualifier.db.execute("DELETE FROM qualifier.mqas")
    broken = leadstate("replay", env=env)
    assert broken.returncode == 3, broken.stdout + broken.stderr
    out = broken.stdout
    assert f"{account_id}: account open (episode 0), replay mqa (episode 1)" in out
    assert f"{account_id}: account attributes differ in company, company_size" in out
    assert f"{eng}: member of no account, replay {account_id}" in out
    assert f"{account_id}: the log makes MQA" in out

    written = leadstate("replay", "--write", env=env)
    assert written.returncode == 0 and "accounts, account members and MQA register" in written.stdout
    again = leadstate("replay", env=env)
    assert again.returncode == 0 and "no differences from the stored state" in again.stdout, again.stdout
    account = await qualifier.db.fetchrow(
        "SELECT stage, episode FROM qualifier.accounts WHERE account_id = $1", account_id
    )
    assert (account["stage"], account["episode"]) == ("mqa", 1)
    members = await qualifier.db.fetch(
        "SELECT lead_id FROM qualifier.account_members WHERE account_id = $1", account_id
    )
    assert {r["lead_id"] for r in members} == {lead_id_for(f"user:{who}") for who, _, _ in people}
    assert await qualifier.count("SELECT count(*) FROM qualifier.mqas WHERE account_id = $1", account_id) == 1
