"""The console's pages in Japanese through the real handoff app, asked with `Accept-Language: ja` (the test
deployment's default is en): the policy page's rule sentences, working days and holiday country and its
Suggestions section; the People page and the account rules' refusals on it; one webhook endpoint's page and
the URL checks' refusals; the sign-on error page. Each page has its Japanese words and none of the English
ones it had before it was translated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path

import httpx
import pytest

from services.common.policy import describe_policy
from services.common.settings import Settings
from services.handoff.app import create_app
from tests.conftest import API_KEY_ALL, Topics
from tests.integration.console.conftest import Console
from tests.integration.handoff.webhooks.receiver import Receiver, running_receiver
from tests.support import ROOT, serve_app

JA = {"Accept-Language": "ja"}
# Words the pages said in English before they were translated; none may be left on a Japanese page.
ENGLISH = {
    "policy": (
        "makes a known lead an MQL",
        "Mon",
        "public holidays",
        "Suggestions",
        "The advisor reads",
        "Ask the advisor",
        "Least decided MQLs",
    ),
    "users": ("Personal accounts", "Add a person", ">Disable<", ">Email<", "active", ">sales<"),
    "webhook": ("Deliveries", "Send again", "Replay", "Remove endpoint", "No delivery yet", ">enabled<"),
}


@pytest.fixture
def business_hours_policy(tmp_path: Path) -> Path:
    """The shipped policy with its SLA counted in working hours (Mon–Fri 9:00–18:00, Japan's holidays)."""
    text = (ROOT / "policies" / "default.yaml").read_text(encoding="utf-8")
    path = tmp_path / "policy.yaml"
    path.write_text(
        text.replace("  due_soon_hours: 8\n", "  due_soon_hours: 8\n  business_hours: {}\n"), "utf-8"
    )
    assert "business_hours" in path.read_text(encoding="utf-8")
    return path


@pytest.fixture
async def console(
    settings: Settings, kafka_bootstrap: str, topics: Topics, business_hours_policy: Path
) -> AsyncIterator[Console]:
    update = {"policy_path": business_hours_policy, "webhook_allow_private": True}
    app = create_app(settings.model_copy(update=update))
    async with serve_app(app) as url:
        yield Console(url, app, kafka_bootstrap, topics)


def text_of(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return unescape(answer.text)


async def test_the_policy_page_in_japanese(console: Console) -> None:
    policy = console.app.state.console.policy  # the file above, as the handoff read it
    assert policy.sla.business_hours is not None
    async with console.browser() as browser:
        await console.login(browser, API_KEY_ALL)
        page = text_of(await browser.get("/console/policy", headers=JA))
        english = text_of(await browser.get("/console/policy"))
    for sentence in describe_policy(policy, "ja"):
        assert sentence in page, sentence
    assert "時間は営業時間で数えます：月〜金 09:00〜18:00（現地時刻）、日本の祝日を除く。" in page
    assert "改善の提案" in page and "アドバイザーに提案を依頼" in page
    for words in ENGLISH["policy"]:
        assert words not in page, words
    # the English page still says it in English
    assert describe_policy(policy)[0] in english
    assert "The hours are working hours: Mon–Fri, 09:00–18:00 local time, public holidays of Japan" in english


async def test_the_people_page_in_japanese(console: Console) -> None:
    async with console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        added = await browser.post(
            "/console/users", data={"csrf": csrf, "email": "tanaka@example.jp", "role": "sales"}, headers=JA
        )
        page = text_of(added)
        again = {"csrf": csrf, "email": "tanaka@example.jp", "role": "sales"}
        refused = await browser.post("/console/users", data=again, headers=JA)
        refused_en = await browser.post("/console/users", data=again)
        no_role = await browser.post(
            "/console/users", data={**again, "email": "sato@example.jp", "role": "boss"}, headers=JA
        )
        unknown = await browser.post(
            "/console/users/disable", data={"csrf": csrf, "email": "nobody@example.jp"}, headers=JA
        )
    assert "ユーザーを追加" in page and "tanaka@example.jp さんがパスワードを設定できます" in page
    assert "<td>営業</td>" in page and "<td>有効</td>" in page and ">無効にする<" in page
    for words in ENGLISH["users"]:
        assert words not in page, words
    # the account rules' refusals too, worded from their codes; the English page keeps the English
    assert refused.status_code == 422 and "ユーザーを追加" in refused.text
    assert "tanaka@example.jp さんのアカウントはすでにあります。" in unescape(refused.text)
    assert "already has an account" not in refused.text
    assert "nobody@example.jp さんのアカウントはありません。" in unescape(unknown.text)
    assert "Unknown role" not in unescape(no_role.text) and "ロール「boss」はありません" in unescape(
        no_role.text
    )
    assert "tanaka@example.jp already has an account." in unescape(refused_en.text)


async def test_one_webhook_endpoints_page_in_japanese(console: Console) -> None:
    receiver = Receiver()
    async with running_receiver(receiver), console.browser() as browser:
        csrf = await console.login(browser, API_KEY_ALL)
        form = {"csrf": csrf, "url": receiver.url, "events": ["lead.mql"], "format": "standard"}
        assert (await browser.post("/console/webhooks", data=form)).status_code == 200
        listed = (
            await browser.get("/v1/webhooks", headers={"Authorization": f"Bearer {API_KEY_ALL}"})
        ).json()
        hook = listed["webhooks"][0]["id"]
        page = text_of(await browser.get(f"/console/webhooks/{hook}", headers=JA))
        failed = text_of(await browser.get(f"/console/webhooks/{hook}?status=failed", headers=JA))
        refused = await browser.post(
            f"/console/webhooks/{hook}/delete", data={"csrf": csrf, "confirm": "no"}, headers=JA
        )
        no_events = await browser.post(
            f"/console/webhooks/{hook}", data={"csrf": csrf, "url": receiver.url}, headers=JA
        )
        edit = {"csrf": csrf, "url": "https://me:secret@crm.example.com/hook", "events": ["lead.mql"]}
        bad_url = await browser.post(f"/console/webhooks/{hook}", data=edit, headers=JA)
        bad_url_en = await browser.post(f"/console/webhooks/{hook}", data=edit)
        new_bad_url = await browser.post(
            "/console/webhooks", data={**form, "url": "https://crm.example.com/hook#x"}, headers=JA
        )
        slack = await browser.post(
            "/console/webhooks", data={**form, "format": "slack", "events": ["lead.decision"]}, headers=JA
        )
    assert "送信履歴" in page and "再送（リプレイ）" in page and "送信先を削除" in page
    assert "まだ送信はありません。" in page and ">有効</span>" in page
    for words in ENGLISH["webhook"]:
        assert words not in page, words
    assert "送信失敗の送信はまだありません。" in failed
    assert refused.status_code == 422
    assert f"送信先ID（{hook}）を入力してください" in unescape(refused.text)
    assert no_events.status_code == 422 and "から1つ以上選んでください" in unescape(no_events.text)
    # the URL checks shared with the API, worded from their codes
    assert bad_url.status_code == 422, bad_url.text
    assert "url：この送信先は使えません。URLにユーザー名やパスワードは含められません" in unescape(
        bad_url.text
    )
    assert "credentials in the URL" not in bad_url.text
    assert new_bad_url.status_code == 422 and "（フラグメント）が含まれています" in unescape(new_bad_url.text)
    assert slack.status_code == 422 and "Slack の送信先に送れるのは lead.mql だけです" in unescape(slack.text)
    assert "url refused: credentials in the URL are not accepted" in unescape(bad_url_en.text)


async def test_the_sign_on_error_page_in_japanese(console: Console) -> None:
    async with console.browser() as browser:
        answer = await browser.get("/console/login/oidc", headers=JA)
    assert answer.status_code == 404
    assert "シングルサインオンは設定されていません" in answer.text
    assert "Single sign-on" not in answer.text
