"""The lead-state changelog: `leadstate.lead.updated.v1` on `lead.state` (compacted, key = lead id).

A CRM keeps "leadstate stage / score band / top interests" fields in sync from it without polling. The
rule (README, "Lead-state changelog"): after each entry of the log is folded, the lead's *view* (stage,
score band, top interests, fit attributes) is compared with the view last published for it:
- anonymous leads publish nothing (a CRM has no record to update);
- a changed stage is published at once;
- any other change is published only when at least MIN_INTERVAL of event time has passed since the
  lead's last update; a change inside the interval waits for the lead's next entry after it.
A page view that moves the score inside its band changes nothing. Only event time counts (never the
wall clock nor the batch boundaries), so a replay of the log in the worker's order gives the same events.

`next_update` is the pure part; `Changelog` carries the published views of one batch's leads between
the table `qualifier.lead_changelog` and the outbox.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from services.common.envelope import Envelope, envelope_bytes, new_envelope
from services.common.outbox import Outbox
from services.common.policy import LeadState, Policy
from services.common.policy.scoring import score_at, value_at

from .stitching import Ledger

UPDATED_TYPE = "leadstate.lead.updated.v1"
MIN_INTERVAL = timedelta(minutes=10)
TOP_INTERESTS = 3
# Score bands: the score's place matters to a CRM list, not its second decimal.
SCORE_BANDS = ((30.0, "hot"), (10.0, "warm"), (0.0, "cold"))
FIT_KEYS = ("industry", "title", "title_level", "company", "company_size", "company_size_band")


@dataclass(frozen=True)
class Published:
    view: dict[str, Any]
    at: datetime


def score_band(score: float) -> str:
    return next((name for floor, name in SCORE_BANDS if score >= floor), "cold")


def view_of(state: LeadState, policy: Policy, at: datetime) -> dict[str, Any]:
    """What a change is judged on: equal views mean nothing worth telling a CRM happened."""
    half_life = policy.scoring.half_life_days
    ranked = sorted(
        ((value_at(d, at, half_life), topic) for topic, d in state.interests.items()),
        key=lambda vt: (-vt[0], vt[1]),
    )
    return {
        "stage": state.stage,
        "score_band": score_band(score_at(state.scores, policy, at)),
        "top_interests": [topic for value, topic in ranked[:TOP_INTERESTS] if value > 0],
        "fit": {k: state.attributes[k] for k in FIT_KEYS if state.attributes.get(k) is not None},
    }


def next_update(
    published: Published | None, state: LeadState, policy: Policy, at: datetime
) -> Published | None:
    """The view to publish now after an entry at `at`, or None (nothing changed, or rate-limited)."""
    if not state.known:
        return None
    # inside the interval only a new stage publishes: the view (decayed interests sorted, the score)
    # need not be computed, most entries of an active lead stop here
    if published is not None and at < published.at + MIN_INTERVAL and state.stage == published.view["stage"]:
        return None
    view = view_of(state, policy, at)
    if published is None:
        return Published(view, at)
    if view == published.view:
        return None
    if view["stage"] != published.view["stage"] or at >= published.at + MIN_INTERVAL:
        return Published(view, at)
    return None


def updated_data(state: LeadState, policy: Policy, update: Published, before: Published | None) -> dict:
    half_life = policy.scoring.half_life_days
    interests = {t: value_at(state.interests[t], update.at, half_life) for t in update.view["top_interests"]}
    changed = [k for k in update.view if before is None or before.view[k] != update.view[k]]
    return {
        "lead_id": state.lead_id,
        "user_id": state.user_id,
        "email": state.email,
        "stage": update.view["stage"],
        "episode": state.episode,
        "score": score_at(state.scores, policy, update.at),
        "score_band": update.view["score_band"],
        "top_interests": [
            {"topic": t, "label": policy.topics.get(t, t), "score": round(v, 2)} for t, v in interests.items()
        ],
        "fit": update.view["fit"],
        "changed": changed,
        "policy_version": policy.version,
        "updated_at": update.at.isoformat(),
    }


def update_id_for(lead_id: str, event_id: str) -> str:
    """A function of the lead and the entry that caused it: a redelivery or replay makes the same id."""
    return "lu_" + hashlib.sha1(f"{lead_id}/{event_id}".encode()).hexdigest()[:24]


LOAD = (
    "SELECT lead_id, view::text, published_at FROM qualifier.lead_changelog WHERE lead_id = ANY($1::text[])"
)
SAVE = """
INSERT INTO qualifier.lead_changelog (lead_id, view, published_at)
SELECT l, v::jsonb, a FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS r(l, v, a)
ON CONFLICT (lead_id) DO UPDATE SET view = excluded.view, published_at = excluded.published_at
"""


@dataclass(frozen=True)
class Update:
    """One lead.updated event the batch makes (its envelope is serialised only when stored)."""

    lead_id: str
    event_id: str
    at: datetime
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return update_id_for(self.lead_id, self.event_id)

    def envelope(self) -> Envelope:
        return new_envelope(UPDATED_TYPE, self.data, **self._fields())

    def payload(self) -> bytes:
        return envelope_bytes(UPDATED_TYPE, self.data, **self._fields())

    def _fields(self) -> dict[str, Any]:
        return {
            "source": "qualifier",
            "subject": self.lead_id,
            "time": self.at,
            "id_": self.id,
        }


@dataclass
class Changelog:
    """The published views of the leads one batch touches, and the updates the batch makes."""

    policy: Policy
    published: dict[str, Published] = field(default_factory=dict)
    updates: list[Update] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)

    @property
    def envelopes(self) -> list[Envelope]:
        return [u.envelope() for u in self.updates]

    @classmethod
    async def load(cls, db: asyncpg.Connection, policy: Policy, lead_ids: list[str]) -> Changelog:
        log = cls(policy)
        if lead_ids:
            rows = await db.fetch(LOAD, lead_ids)
            log.published = {lead_id: Published(orjson.loads(view), at) for lead_id, view, at in rows}
        return log

    def observe(self, ledger: Ledger) -> None:
        """After the ledger folded one more entry: publish its lead's view if the rule says so."""
        applied = ledger.applied[-1]
        if applied.lead_id is None:
            return
        state = ledger.states[ledger.resolve(applied.lead_id)]
        at = applied.entry.time
        before = self.published.get(state.lead_id)
        update = next_update(before, state, self.policy, at)
        if update is None:
            return
        self.published[state.lead_id] = update
        self.touched.add(state.lead_id)
        data = updated_data(state, self.policy, update, before)
        self.updates.append(Update(state.lead_id, applied.entry.event_id, at, data))

    async def save(self, db: asyncpg.Connection, outbox: Outbox, topic: str) -> None:
        """The views and the outbox rows, one statement each on the transaction's raw connection."""
        if not self.touched:
            return
        keys = sorted(self.touched)
        views = [orjson.dumps(self.published[k].view).decode() for k in keys]
        await db.execute(SAVE, keys, views, [self.published[k].at for k in keys])
        await outbox.add_bytes(db, topic, [(u.lead_id, u.id, u.payload()) for u in self.updates])
