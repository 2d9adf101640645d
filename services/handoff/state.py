"""The handoff's application state: one frozen object wired in app.py, read by the routes and the console
through `handoff_state(request)` instead of loose `app.state` attributes."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from services.common.db import Database
from services.common.policy_file import PolicyFile
from services.common.runtime import Worker
from services.common.settings import Settings

from .cursor import CursorCodec
from .decisions import Decider
from .key_usage import KeyUsage
from .policy import HandoffPolicy
from .qualifier_client import QualifierClient
from .webhooks.service import WebhookDispatcher


@dataclass(frozen=True, kw_only=True)
class HandoffState:
    settings: Settings
    policy_file: PolicyFile  # read once at start-up: the rules the console shows
    policy: HandoffPolicy
    database: Database
    worker: Worker
    decider: Decider
    webhooks: WebhookDispatcher
    cursors: CursorCodec
    key_usage: KeyUsage
    qualifier: QualifierClient  # the qualifier's API: lead timelines, the policy lab


def handoff_state(request: Request) -> HandoffState:
    return request.app.state.handoff
