"""Under /console the errors a browser meets are HTML pages in the console's frame, with the status and
headers the API would give; the API itself still answers problem+json."""

from __future__ import annotations

import httpx

from services.common.settings import Settings
from services.handoff.app import create_app
from tests.conftest import API_KEY_ALL
from tests.integration.console.conftest import Console, post_login
from tests.integration.handoff.data import POLICY
from tests.support import free_port, serve_app


def assert_page(answer: httpx.Response, status: int, title: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html"), answer.headers["content-type"]
    assert f"<h1>{title}</h1>" in answer.text and "Back to the inbox" in answer.text


async def test_unknown_page_and_wrong_method_are_html_pages(console: Console) -> None:
    async with console.browser() as browser:
        assert_page(await browser.get("/console/no-such-page"), 404, "Page not found")
        wrong = await browser.delete("/console/inbox")
        assert_page(wrong, 405, "Not possible here")
        assert "GET" in wrong.headers["allow"]
        api = await browser.get("/v1/no-such-route")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


async def test_unexpected_error_is_an_html_page(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"policy_path": POLICY}))

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/console/test-broken", broken)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as browser:
        assert_page(await browser.get("/console/test-broken"), 500, "Something went wrong")


async def test_database_outage_is_an_html_page_with_retry_after(settings: Settings) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/leadstate"  # nothing listens there
    app = create_app(settings.model_copy(update={"policy_path": POLICY, "database_url": nowhere}))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as browser:
        signed_in = await post_login(browser, {"key": API_KEY_ALL, "name": "Aiko Sato"})
        assert signed_in.status_code == 303, signed_in.text
        page = await browser.get("/console/inbox")
        api = await browser.get("/v1/mqls", headers={"Authorization": f"Bearer {API_KEY_ALL}"})
    assert_page(page, 503, "The database is unavailable")
    assert page.headers["retry-after"] == "5"
    assert api.status_code == 503 and api.headers["content-type"] == "application/problem+json"
