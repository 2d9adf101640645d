"""The qualifier API's application state: one frozen object wired in worker.py, read by the routes
through `qualifier_state(request)`."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from services.common.db import Database
from services.common.policy_file import PolicyFile
from services.common.settings import Settings

from ..jobs import JobSlots


@dataclass(frozen=True, kw_only=True)
class QualifierState:
    settings: Settings
    policy_file: PolicyFile  # read once at start-up: the policy the worker folds with, a job's baseline
    database: Database
    jobs: JobSlots = field(default_factory=JobSlots)


def qualifier_state(request: Request) -> QualifierState:
    return request.app.state.qualifier
