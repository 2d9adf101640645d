"""The lead page's timeline comes from the qualifier's API: with the qualifier running it shows the
lead's events (the anonymous part stitched in) and the score chart; with the qualifier down or hanging
the page still answers with the episodes and decisions and says the timeline is unavailable."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from services.common.settings import Settings
from services.qualifier.stitching import lead_id_for
from services.qualifier.worker import create_app as create_qualifier
from testbed import free_port
from tests.conftest import API_KEY_ALL, Topics
from tests.integration.console.conftest import ConsoleWith
from tests.integration.qualifier.conftest import at, download, identify, seminar_attended
from tests.support import publish, serve_app, wait_until


async def test_the_lead_page_shows_the_qualifiers_timeline(
    settings: Settings, console_with: ConsoleWith, kafka_bootstrap: str, topics: Topics
) -> None:
    events = [
        download(at(0), "wp-lead-scoring", anon="a-page"),
        identify(at(10), user="u-page", anon="a-page"),
        download(at(20), "ebook-lead-nurturing", user="u-page"),
        seminar_attended(at(30), user="u-page"),
    ]
    lead_id = lead_id_for("user:u-page")
    async with serve_app(create_qualifier(settings)) as qualifier_url, console_with(qualifier_url) as console:
        await publish(kafka_bootstrap, topics.events, list(events))
        client = console.app.state.handoff.qualifier

        async def stored() -> bool:
            found = await client.timeline(lead_id)
            return found is not None and len(found.events) == len(events)

        await wait_until(stored, timeout_s=30, what="the lead's events on the qualifier's API")
        await console.add_mqls(lead_id)
        async with console.browser() as browser:
            await console.login(browser, API_KEY_ALL)
            page = await browser.get(f"/console/leads/{lead_id}")
            japanese = await browser.get(f"/console/leads/{lead_id}", headers={"Accept-Language": "ja"})
    assert page.status_code == 200, page.text
    html = page.text
    assert "Timeline unavailable" not in html
    assert html.count('<tr class="kind-') == 4  # the anonymous download, the identify, download, seminar
    assert "Downloaded “wp-lead-scoring”" in html and "Downloaded “ebook-lead-nurturing”" in html
    assert "Attended the seminar “MQL design with sales” on Lead management" in html
    assert "Identified as u-page@example.test (Marketing Manager)" in html
    assert html.count('<span class="tag">anonymous</span>') == 1
    assert "Episode 1" in html and "<svg" in html
    # in Japanese: each event in words a salesperson reads, the chart's time axis on the viewer's clock
    assert japanese.status_code == 200, japanese.text
    ja = japanese.text
    assert (
        "資料「wp-lead-scoring」をダウンロード" in ja and "資料「ebook-lead-nurturing」をダウンロード" in ja
    )
    assert "セミナー「MQL design with sales」に参加（テーマ：Lead management）" in ja
    assert "リードを特定：u-page@example.test（Marketing Manager）" in ja
    assert "のエンゲージメントスコアの推移" in ja
    first = at(0).astimezone(ZoneInfo("Asia/Tokyo"))  # LEADSTATE_TIMEZONE's default
    assert f">{first.year}年{first.month}月{first.day}日 {first:%H:%M}</text>" in ja
    for english in ("Downloaded “", "Attended the seminar “", "Identified as", "Engagement score of"):
        assert english not in ja, english


async def test_the_lead_page_answers_without_the_qualifier(console_with: ConsoleWith) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    async with console_with(nobody) as console:
        await console.add_mqls("lead-alone")
        async with console.browser() as browser:
            await console.login(browser, API_KEY_ALL)
            page = await browser.get("/console/leads/lead-alone")
    assert page.status_code == 200, page.text
    assert "Timeline unavailable" in page.text and "cannot connect to the qualifier" in page.text
    assert "Episode 1" in page.text and "lead-alone@example.com" in page.text  # what the handoff has


async def test_the_lead_page_answers_within_the_timeout_when_the_qualifier_hangs(
    console_with: ConsoleWith,
) -> None:
    accepted = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()  # reads the request, answers nothing until the client gives up
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with console_with(f"http://127.0.0.1:{port}", qualifier_timeout_s=0.5) as console:
            await console.add_mqls("lead-waiting")
            async with console.browser() as browser:
                await console.login(browser, API_KEY_ALL)
                page = await browser.get("/console/leads/lead-waiting")
    finally:
        server.close()
    assert accepted.is_set()  # the request did reach the hanging qualifier
    assert page.status_code == 200, page.text
    assert "Timeline unavailable" in page.text and "did not answer within 0.5 s" in page.text
    assert "Episode 1" in page.text
