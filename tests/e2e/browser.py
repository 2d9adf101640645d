"""Headless Chromium driven over the Chrome DevTools Protocol (its websocket), with no extra dependency:
enough to open pages, fill and submit forms, read the DOM and take screenshots."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support import free_port, stop_process, wait_until

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
WIDTH = 1280


def chromium_binary() -> str | None:
    return next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)


def chromium_or_skip() -> str:
    """Chromium's path; the test is skipped where there is none."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium binary: `make test` installs it with apt-get when run as root")
    return binary


class Page:
    def __init__(self, socket: Any) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._loads = 0
        self._load_seen = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self._socket:
            message = json.loads(raw)
            if "id" in message and message["id"] in self._answers:
                self._answers.pop(message["id"]).set_result(message)
            elif message.get("method") == "Page.loadEventFired":
                self._loads += 1
                self._load_seen.set()

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        self._answers[call_id] = asyncio.get_running_loop().create_future()
        await self._socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        answer = await asyncio.wait_for(self._answers[call_id], 30)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]  # type: ignore[no-any-return]

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def _navigation(self, start: Callable[[], Awaitable[Any]]) -> str:
        before = self._loads
        self._load_seen.clear()
        await start()
        while self._loads == before:
            await asyncio.wait_for(self._load_seen.wait(), 30)
            self._load_seen.clear()
        return str(await self.evaluate("location.href"))

    async def goto(self, url: str) -> str:
        """Open `url`; the URL the browser ends on (after redirects)."""
        return await self._navigation(lambda: self.send("Page.navigate", url=url))

    async def submit(self, expression: str) -> str:
        """Run `expression` (which submits a form or clicks a link) and wait for the next page."""
        return await self._navigation(lambda: self.evaluate(expression))

    async def text(self, selector: str = "body") -> str:
        found = await self.evaluate(f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText")
        return str(found or "")

    async def screenshot(self, path: Path, *, max_height: int = 2400) -> None:
        height = int(await self.evaluate("document.documentElement.scrollHeight"))
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=min(height, max_height),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = await self.send("Page.captureScreenshot", format="png")
        _save(path, base64.b64decode(shot["data"]))
        await self.send(
            "Emulation.setDeviceMetricsOverride", width=WIDTH, height=900, deviceScaleFactor=1, mobile=False
        )

    async def close(self) -> None:
        self._reader.cancel()
        await self._socket.close()


@asynccontextmanager
async def chromium_page(binary: str, profile: Path, *, language: str = "en-US") -> AsyncIterator[Page]:
    """A page of a fresh headless Chromium whose requests say `Accept-Language: {language}`."""
    port = free_port()
    flags = [f"--lang={language}", f"--accept-lang={language}"]
    process = _launch(
        [binary, *FLAGS, *flags, f"--remote-debugging-port={port}", f"--user-data-dir={profile}"]
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def page_target() -> dict[str, Any] | None:
                try:
                    targets = (await client.get("/json/list")).json()
                except httpx.HTTPError:
                    return None
                return next((t for t in targets if t.get("type") == "page"), None)

            target = await wait_until(page_target, timeout_s=30, what="Chromium's DevTools endpoint")
        async with websockets.connect(target["webSocketDebuggerUrl"], max_size=64 * 2**20) as socket:
            page = Page(socket)
            await page.send("Page.enable")
            await page.send("Runtime.enable")
            # the header itself, whatever the flags do in this Chromium version's headless mode
            await page.send("Network.enable")
            await page.send("Network.setExtraHTTPHeaders", headers={"Accept-Language": language})
            await page.send(
                "Emulation.setDeviceMetricsOverride",
                width=WIDTH,
                height=900,
                deviceScaleFactor=1,
                mobile=False,
            )
            try:
                yield page
            finally:
                await page.close()
    finally:
        stop_process(process)


def _save(path: Path, png: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


def _launch(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*command, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
