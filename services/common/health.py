"""/healthz, /readyz and /metrics, the same on every service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from .metrics import metrics_response

Check = Callable[[], Awaitable[None]]


class Readiness:
    """Named checks; each raises when its dependency does not work right now."""

    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    async def report(self, timeout_s: float = 3.0) -> tuple[bool, dict[str, str]]:
        async def run(check: Check) -> str:
            try:
                await asyncio.wait_for(check(), timeout_s)
                return "ok"
            except Exception as exc:
                return f"failing: {type(exc).__name__}: {str(exc)[:200]}".rstrip(": ")

        names = list(self.checks)
        results = await asyncio.gather(*(run(self.checks[n]) for n in names))
        details = dict(zip(names, results, strict=True))
        return all(r == "ok" for r in results), details


def health_router(readiness: Readiness, service: str) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", operation_id="healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get(
        "/readyz",
        operation_id="readyz",
        summary="200 when the database and broker connections work, 503 otherwise",
        responses={503: {"description": "a dependency is failing"}},
    )
    async def readyz() -> Response:
        ok, details = await readiness.report()
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "service": service, "checks": details},
            status_code=200 if ok else 503,
        )

    @router.get("/metrics", operation_id="metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return metrics_response()

    return router
