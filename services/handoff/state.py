"""The handoff's application state: one frozen object wired in app.py, read by the routes and the console
through `handoff_state(request)` instead of loose `app.state` attributes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.requests import Request

from services.common.db import Database
from services.common.policy_file import PolicyFile
from services.common.runtime import Worker
from services.common.settings import Settings

from .cursor import CursorCodec
from .decisions import Decider
from .key_usage import KeyUsage
from .policy import HandoffPolicy
from .webhooks.service import WebhookDispatcher


@dataclass(frozen=True, kw_only=True)
class SimulationSlots:
    """One simulation at a time per process (the rest queue on the gate); running tasks are held here so
    they are not garbage-collected while they run."""

    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass(frozen=True, kw_only=True)
class HandoffState:
    settings: Settings
    policy_file: PolicyFile  # read once at start-up: the rules the console shows, a simulation's baseline
    policy: HandoffPolicy
    database: Database
    worker: Worker
    decider: Decider
    webhooks: WebhookDispatcher
    cursors: CursorCodec
    key_usage: KeyUsage
    simulations: SimulationSlots = field(default_factory=SimulationSlots)


def handoff_state(request: Request) -> HandoffState:
    return request.app.state.handoff
