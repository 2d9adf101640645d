"""The console in Japanese and in English, in headless Chromium against the three services as processes,
with the Japanese demo audience (`leadstate demo --language ja`) posted through ingest.

Each walk sends its browser's Accept-Language (the deployment's default here is en, so a Japanese page
proves the header was read): log in, the oldest card in the viewer's language (rule description, reasons
rendered from their codes, next checks, the reason pick list) with its due time on the Tokyo clock, a
decision recorded, the funnel's not-SQL chart in the same language, the lead page's timeline events in that
language with the score chart's time axis on the viewer's clock, the policy page's rule sentences; then the
header's switch to the other language, remembered for the next page. Screenshots go to
LEADSTATE_SCREENSHOTS/<language> (the README's docs/screenshots/ja and en) or to tmp_path."""

from __future__ import annotations

import json
import os
import re
import signal
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.common.policy import describe_policy
from services.common.policy.loader import load_policy
from services.common.policy.model import in_language
from services.common.policy.reasons import render_reason
from tests.conftest import API_KEY_ALL, API_KEY_READ
from tests.e2e.browser import Page, chromium_or_skip, chromium_page
from tests.e2e.demo import demo_in_the_inbox, grouped_leads
from tests.support import ROOT, ServiceProcess, free_port, wait_ready

pytestmark = pytest.mark.e2e
POLICY = load_policy(
    (ROOT / "policies" / "default.yaml").read_text(encoding="utf-8"), "policies/default.yaml"
)
TOKYO = ZoneInfo("Asia/Tokyo")
NOT_SQL = "no_timing"
# What each language's pages say, written here and not read from the catalogs under test.
WORDS: dict[str, dict[str, Any]] = {
    "ja": {
        "login": "コンソールにログイン",
        "zone": "時刻は Asia/Tokyo (JST)",
        "why": "MQLになった理由",
        "due": "期限",
        "recorded": "の判定を記録しました",
        "chart": "営業がSQLにしなかった理由",
        "timeline": ("をダウンロード", "を閲覧", "に参加", "に申し込み"),
        "axis": r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d",
        "suggestions": "改善の提案",
        "other": ("en", "Inbox"),
    },
    "en": {
        "login": "Log in to the console",
        "zone": "Times in Asia/Tokyo (JST)",
        "why": "Why this is an MQL",
        "due": "Due",
        "recorded": "Decision recorded for",
        "chart": "Why sales said not SQL",
        "timeline": ("Downloaded “", "Viewed the page", "Attended the seminar", "Registered for the seminar"),
        "axis": r"\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d",
        "suggestions": "Suggestions",
        "other": ("ja", "インボックス"),
    },
}


def tokyo_time(at: datetime, language: str) -> str:
    local = at.astimezone(TOKYO)
    if language == "ja":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local.day} {local:%b %Y %H:%M}"


async def open_mqls(handoff: str, env: dict[str, str]) -> list[dict[str, Any]]:
    """The Japanese demo posted and in the inbox: its open MQLs, oldest first."""
    await demo_in_the_inbox(env, "--language", "ja")
    async with httpx.AsyncClient(base_url=handoff, headers={"Authorization": f"Bearer {API_KEY_ALL}"}) as api:
        items = (await api.get("/v1/mqls", params={"limit": 200})).json()["items"]
    grouped = await grouped_leads(handoff, API_KEY_ALL)  # shown inside their account's card
    items = [i for i in items if i["lead_id"] not in grouped]
    assert len(items) >= 2, "the walk decides on two MQLs, one per language"
    return list(items)


async def lead_page_speaks(page: Page, language: str) -> None:
    """The timeline's events in the viewer's language (none in the other), and the score chart's time axis
    on the same clock and written as the timeline's times (the viewer's zone, not UTC)."""
    events = await page.evaluate(
        "[...document.querySelectorAll('table.timeline td:nth-child(2)')].map(c => c.textContent)"
    )
    assert events and any(w in e for e in events for w in WORDS[language]["timeline"]), events
    other = WORDS["en" if language == "ja" else "ja"]["timeline"]
    assert not [e for e in events if any(w in e for w in other)], events
    axis = await page.evaluate(
        "[...document.querySelectorAll('svg.chart text.axis')].map(t => t.textContent)"
    )
    times = await page.evaluate(
        "[...document.querySelectorAll('table.timeline td.nowrap')].map(c => c.textContent.trim())"
    )
    assert all(re.fullmatch(WORDS[language]["axis"], label) for label in axis[-2:]), axis
    assert set(axis[-2:]) <= set(times), (axis, times)  # the first and last event, on the timeline's clock


async def walk(page: Page, handoff: str, language: str, item: dict[str, Any], shots: Path) -> None:
    words = WORDS[language]
    assert "/console/login" in await page.goto(f"{handoff}/console/inbox")
    assert words["login"] in await page.text("main")
    await page.screenshot(shots / "login.png")
    await page.evaluate(
        f"document.querySelector('#key').value = {json.dumps(API_KEY_ALL)};"
        "document.querySelector('#name').value = '佐藤 愛子';"
    )
    assert (await page.submit("document.querySelector('#key').form.submit()")).endswith("/console/inbox")
    assert await page.evaluate("document.documentElement.lang") == language
    assert words["zone"] in await page.text("header")

    card_selector = f'[data-card][data-lead="/console/leads/{item["lead_id"]}"]'
    card = await page.text(card_selector)
    assert item["attributes"]["name"] in card and words["why"].lower() in card.lower()  # h3 is upper-cased
    rule_words = item["rule"]["texts"][language]
    assert rule_words in card, (rule_words, card)
    topics = {t: in_language(label, language) for t, label in POLICY.topics.items()}
    for reason in item["reasons"]:
        assert render_reason(reason, language, topics) in card
    assert item["next_checks_texts"][0][language] in card
    due = tokyo_time(datetime.fromisoformat(item["sla_due_at"]), language)
    assert f"{words['due']} {due}" in card, (due, card)
    # the due time is the decision SLA after qualification, on the Tokyo clock
    qualified = datetime.fromisoformat(item["qualified_at"])
    assert tokyo_time(qualified + timedelta(hours=POLICY.sla.decision_hours), language) == due
    label = next(r.label for r in POLICY.not_sql_reasons if r.code == NOT_SQL)
    options = await page.evaluate(
        f"[...document.querySelector({json.dumps(card_selector)})"
        ".querySelectorAll('select[name=reason] option')].map(o => o.textContent)"
    )
    assert in_language(label, language) in options
    await page.screenshot(shots / "inbox.png", max_height=1500)

    await page.evaluate(
        f"const form = document.querySelector({json.dumps(card_selector)}).querySelector('form.decide');"
        "form.querySelector('input[value=rejected]').click();"
        f"form.querySelector('select[name=reason]').value = {json.dumps(NOT_SQL)};"
    )
    after = await page.submit(
        f"document.querySelector({json.dumps(card_selector)}).querySelector('form.decide button').click()"
    )
    assert "decided=" in after and words["recorded"] in await page.text("main")
    assert await page.evaluate(f"document.querySelectorAll({json.dumps(card_selector)}).length") == 0

    await page.goto(f"{handoff}/console/funnel")
    chart = await page.evaluate(
        f"document.querySelector('svg.chart[aria-label={json.dumps(words['chart'])}]').textContent"
    )
    assert in_language(label, language) in chart
    await page.screenshot(shots / "funnel.png")
    await page.goto(f"{handoff}/console/leads/{item['lead_id']}")
    await lead_page_speaks(page, language)
    await page.screenshot(shots / "lead.png", max_height=1600)
    await page.goto(f"{handoff}/console/policy")
    policy_page = await page.text("main")
    assert describe_policy(POLICY, language)[0] in policy_page and words["suggestions"] in policy_page
    if language == "ja":
        assert "makes a known lead" not in policy_page and "Suggestions" not in policy_page
    await page.screenshot(shots / "policy.png", max_height=1600)

    # the header's switch: the other language, remembered over the browser's Accept-Language
    other, inbox_word = words["other"]
    await page.submit(f"document.querySelector('nav.languages a[hreflang={other}]').click()")
    await page.goto(f"{handoff}/console/inbox")
    assert await page.evaluate("document.documentElement.lang") == other
    assert inbox_word in await page.text("main h1")


async def test_the_console_in_japanese_and_english(env: dict[str, str], tmp_path: Path) -> None:
    binary = chromium_or_skip()
    shots = Path(os.environ.get("LEADSTATE_SCREENSHOTS") or tmp_path / "screenshots")
    ports = {name: free_port() for name in ("ingest", "qualifier", "handoff")}
    env = {**env, **{f"LEADSTATE_{name.upper()}_PORT": str(port) for name, port in ports.items()}}
    assert env["LEADSTATE_DEFAULT_LANGUAGE"] == "en"  # so a Japanese page can only come from the browser
    # the lead page's timeline and score chart come from the qualifier's API
    env["LEADSTATE_QUALIFIER_URL"] = f"http://127.0.0.1:{ports['qualifier']}"
    env["LEADSTATE_QUALIFIER_API_KEY"] = API_KEY_READ
    services = [ServiceProcess(name, env, tmp_path).start() for name in ports]
    handoff = f"http://127.0.0.1:{ports['handoff']}"
    try:
        for port in ports.values():
            await wait_ready(f"http://127.0.0.1:{port}", timeout_s=60)
        items = await open_mqls(handoff, env)
        for language, item in (("ja", items[0]), ("en", items[1])):
            async with chromium_page(binary, tmp_path / f"chromium-{language}", language=language) as page:
                await walk(page, handoff, language, item, shots / language)
    finally:
        codes = {s.command: s.stop(signal.SIGTERM) for s in services}
    assert set(codes.values()) == {0}, {s.command: s.log()[-1500:] for s in services}
