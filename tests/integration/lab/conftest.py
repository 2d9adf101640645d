"""A recorded history in the real database: a demo audience's events and the sales decisions its hidden
intent dictates on the MQLs of a score-led policy, stored through the qualifier's own batch handler (the
worker's stitching, fold and store), exactly as the worker would have written them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import delete

from services.common.consumer import Delivered
from services.common.db import create_engine, session_factory
from services.common.envelope import Envelope, new_envelope
from services.common.outbox import Outbox
from services.common.policy import Policy, load_policy
from services.common.settings import Settings
from services.handoff.app import create_app as create_handoff
from services.qualifier.cache import LeadCache
from services.qualifier.decisions import ACCOUNT_DECISION_TYPE, DECISION_TYPE
from services.qualifier.demo import generate_audience_with_truth
from services.qualifier.eventlog import ACCOUNT_DECISION_KIND, LogEntry, from_row
from services.qualifier.handlers import Qualify
from services.qualifier.mqa import mqa_id_for
from services.qualifier.stitching import AccountDecided, DecisionRecord
from services.qualifier.store import absorb
from services.qualifier.tables import outbox
from services.qualifier.worker import create_app as create_qualifier
from tests.conftest import API_KEY_ALL
from tests.history import History, log_entry, recorded_history
from tests.support import ROOT, serve_app

POLICIES = ROOT / "policies/examples"
LOOSE = POLICIES / "loose.yaml"  # the line before sales agreed on one: the baseline here
FOCUSED = ROOT / "policies/default.yaml"  # aimed at the leads' true intent: the candidate
SCORE_ONLY = POLICIES / "score_only.yaml"
START = datetime(2026, 9, 1, tzinfo=UTC)
LEADS = 700
BATCH = 400


def policy(path: Path) -> Policy:
    return load_policy(path.read_text(encoding="utf-8"), str(path))


def envelope_of(entry: LogEntry) -> Envelope:
    item = entry.entry
    if isinstance(item, AccountDecided | DecisionRecord):
        kind, subject = (
            (ACCOUNT_DECISION_TYPE, item.account_id)
            if isinstance(item, AccountDecided)
            else (DECISION_TYPE, item.lead_id)
        )
        return new_envelope(
            kind, entry.data, source="handoff", subject=subject, time=item.time, id_=item.event_id
        )
    subject = entry.data.get("userId") or entry.data.get("anonymousId")
    return new_envelope(
        f"leadstate.{entry.type}.v1",
        entry.data,
        source="ingest",
        subject=subject,
        time=item.time,
        id_=item.event_id,
    )


async def store(database_url: str, history: History, live: Policy) -> None:
    """Batch by batch through the worker's handler, in the order the log was applied."""
    engine = create_engine(database_url, pool_size=1)
    handler = Qualify(
        live, Outbox(outbox), "lead.mql", "lead.events", LeadCache(64 * 2**20), topic_state="lead.state"
    )
    try:
        sessions = session_factory(engine)
        for start in range(0, len(history.entries), BATCH):
            part = history.entries[start : start + BATCH]
            delivered = [
                Delivered(envelope=envelope_of(e), topic="lead.events", partition=0, offset=start + i)
                for i, e in enumerate(part)
            ]
            async with sessions() as session, session.begin():
                written = await handler.apply(session, delivered)
            absorb(handler.cache, written)  # committed: the cache now holds what was written, as the worker's
        async with engine.begin() as conn:  # the history is the point; a running qualifier relays nothing
            await conn.execute(delete(outbox))
    finally:
        await engine.dispose()


@dataclass
class Recorded:
    database_url: str
    history: History

    def intent(self, lead_id: str) -> str:
        return self.history.intents.get(lead_id, "unknown")


@pytest.fixture
async def recorded(database_url: str) -> Recorded:
    messages, truth = generate_audience_with_truth(LEADS, seed=21, start=START, days=30)
    history = recorded_history(messages, truth, policy(LOOSE), seed=4)
    await store(database_url, history, policy(LOOSE))
    return Recorded(database_url, history)


@pytest.fixture
def lab_policies() -> Iterator[dict[str, Path]]:
    yield {"loose": LOOSE, "focused": FOCUSED, "score_only": SCORE_ONLY}


@dataclass
class Lab:
    """The qualifier (which runs the lab) served, and a client of its API with a key of every scope."""

    app: FastAPI
    url: str
    client: httpx.AsyncClient


@pytest.fixture
def lab_policy() -> Path:
    """The policy the lab's qualifier (the simulations' baseline) and its console run; a module may
    override it."""
    return LOOSE


@pytest.fixture
async def lab(settings: Settings, lab_policy: Path) -> AsyncIterator[Lab]:
    app = create_qualifier(settings.model_copy(update={"policy_path": lab_policy}))
    headers = {"Authorization": f"Bearer {API_KEY_ALL}"}
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        yield Lab(app, url, client)


@pytest.fixture
async def lab_console(settings: Settings, lab: Lab, lab_policy: Path) -> AsyncIterator[str]:
    """The handoff (its console) asking the lab's qualifier with a key of every scope; its base URL. A
    generous timeout: the shared test machine is slow, and these tests are about what the page shows."""
    update = {
        "policy_path": lab_policy,
        "qualifier_url": lab.url,
        "qualifier_api_key": SecretStr(API_KEY_ALL),
        "qualifier_timeout_s": 30,
    }
    async with serve_app(create_handoff(settings.model_copy(update=update))) as url:
        yield url


# Three companies' buying groups and sales' decisions on their MQAs under the default policy (an MQA when
# three people engage, one of them a manager or above, two on one topic): acme (three people, rejected),
# bolt (four people, SQL) and cargo (three people, SQL). A candidate needing four people keeps bolt only.
COMPANIES = {"acme": (3, "rejected", "no_shared_project"), "bolt": (4, "sql", "buying_group_confirmed")}
COMPANIES["cargo"] = (3, "sql", "project_planned")
READS = ("wp-lead-scoring", "wp-mql-sql-guide", "ebook-ma-selection", "wp-lead-scoring")
TITLES = ("Director of Operations", "Marketing Manager", "Marketing Specialist", "Engineer")
DAY_S = 86400.0


def account_of(company: str) -> str:
    return f"domain:{company}.example"


def stricter_accounts(text: str) -> str:
    """The default policy whose account rule needs four engaged people, not three (version bumped)."""
    stricter = text.replace("breadth: {min_members: 3}", "breadth: {min_members: 4}")
    assert stricter != text, "the default account rule's breadth moved: update this test"
    return stricter.replace('version: "2026.1"', 'version: "2026.1-four"')


def buying_groups_history(live: Policy) -> History:
    """Each company's people identify on day 0 and read one asset a day from day 1 (company by company,
    a week apart); sales decides on each MQA (made when the third person read) two days later."""
    entries: list[LogEntry] = []
    for n, (company, (people, outcome, code)) in enumerate(COMPANIES.items()):
        start = START.timestamp() + 7 * n * DAY_S
        for i in range(people):
            user = f"{company}-{i}"
            traits = {"email": f"{user}@{company}.example", "title": TITLES[i], "industry": "manufacturing"}
            traits |= {"company": company.title(), "company_size": 250}
            entries.append(log_entry(_message("identify", start + i, user, traits=traits)))
            read = {"event": "Content Downloaded", "properties": {"asset_id": READS[i]}}
            entries.append(log_entry(_message("track", start + (i + 1) * DAY_S, user, **read)))
        mqa_at, decided_at = start + 3 * DAY_S, start + 5 * DAY_S
        labels = {r.code: r.label for o in ("sql", "rejected") for r in live.account_reason_codes(o)}
        data = {
            "decision_id": f"d-{company}",
            "account_id": account_of(company),
            "mqa_id": mqa_id_for(account_of(company), 1),
            "episode": 1,
            "outcome": outcome,
            "reason": {"code": code, "label": labels[code]},
            "decided_by": "sales",
            "decided_at": _iso(decided_at),
            "policy_version": live.version,
            "rule": "buying-group-forming",
            "time_to_decision_s": decided_at - mqa_at,
        }
        entries.append(
            from_row(f"d-{company}", ACCOUNT_DECISION_KIND, data, datetime.fromtimestamp(decided_at, UTC))
        )
    return History(sorted(entries, key=lambda e: (e.time, e.event_id)), {})


def _message(kind: str, ts: float, user: str, **body: object) -> dict[str, object]:
    return {"type": kind, "messageId": f"m-{kind}-{user}-{ts}", "timestamp": _iso(ts), "userId": user, **body}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


@pytest.fixture
async def buying_groups(database_url: str) -> Recorded:
    """The three companies' history stored under the default policy, as the worker would have."""
    history = buying_groups_history(policy(FOCUSED))
    await store(database_url, history, policy(FOCUSED))
    return Recorded(database_url, history)
