"""The FastAPI skeleton every service shares: problem+json errors, health endpoints, logging."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from .health import Readiness, health_router
from .problems import install_problem_handlers

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_app(
    *,
    service: str,
    title: str,
    description: str,
    readiness: Readiness,
    lifespan: Lifespan,
    validation_status: int = 422,
    version: str = "0.1.0",
) -> FastAPI:
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    install_problem_handlers(app, validation_status=validation_status)
    app.include_router(health_router(readiness, service))
    return app
