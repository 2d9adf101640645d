"""The lead-state changelog: `leadstate.lead.updated.v1` on `lead.state` (compacted, key = lead id).

A CRM keeps "leadstate stage / score band / top interests" fields in sync from it without polling. The
rule (README, "Lead-state changelog"): after each entry of the log is folded, the lead's *view* (stage,
score band, top interests, fit attributes) is compared with the view last published for it:
- anonymous leads publish nothing (a CRM has no record to update);
- a changed stage is published at once;
- any other change is published only when at least MIN_INTERVAL of event time has passed since the
  lead's last update; a change inside the interval is published when the interval ends;
- a score band that drops with time alone is published at the moment it drops.
The last two are *due* changes (decay.py): published by the worker's sweep (sweep.py) or, if the lead's
next entry comes first, just before that entry is folded (`catch_up`). A page view that moves the score
inside its band changes nothing. Only event time counts (never the wall clock nor the batch boundaries),
so a replay of the log in the worker's order gives the same events.

`next_update` is the pure part; `Changelog` carries the published views of one batch's leads between
the table `qualifier.lead_changelog` and the outbox.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from services.common.envelope import envelope_bytes
from services.common.outbox import Outbox
from services.common.policy import LeadState, Policy
from services.common.policy.scoring import score_at, value_at

from .decay import MIN_INTERVAL, Published, due_after, look_at, score_band
from .stitching import AccountDecided, DecisionRecord, Entry, Ledger, identity_keys

UPDATED_TYPE = "leadstate.lead.updated.v1"
TOP_INTERESTS = 3
FIT_KEYS = ("industry", "title", "title_level", "company", "company_size", "company_size_band")


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
    """The view to publish now after an entry at `at` (a held-back change: the same view, `sent`
    False, due when the interval ends), or None (nothing changed)."""
    if not state.known:
        return None
    view = view_of(state, policy, at)
    if published is None:
        return Published(view, at, due_after(at, state, policy, last_sent=at))
    if view == published.view:
        return None
    if view["stage"] != published.view["stage"] or at >= published.at + MIN_INTERVAL:
        return Published(view, at, due_after(at, state, policy, last_sent=at))
    held = published.at + MIN_INTERVAL  # looked at again then (decay.py), or at the next entry after
    if published.due is not None and published.due <= held:
        return None
    return Published(published.view, published.at, held, sent=False)


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
    "SELECT lead_id, view::text, published_at, due_at FROM qualifier.lead_changelog"
    " WHERE lead_id = ANY($1::text[])"
)
SAVE = """
INSERT INTO qualifier.lead_changelog (lead_id, view, published_at, due_at)
SELECT l, v::jsonb, a, d
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS r(l, v, a, d)
ON CONFLICT (lead_id) DO UPDATE
SET view = excluded.view, published_at = excluded.published_at, due_at = excluded.due_at
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
    # no due time of these leads is earlier: most entries skip the catch-up with one comparison
    earliest_due: datetime | None = None

    def __post_init__(self) -> None:
        self._index_dues()

    def _index_dues(self) -> None:
        self.earliest_due = min((p.due for p in self.published.values() if p.due), default=None)

    @classmethod
    async def load(cls, db: asyncpg.Connection, policy: Policy, lead_ids: list[str]) -> Changelog:
        log = cls(policy)
        if lead_ids:
            rows = await db.fetch(LOAD, lead_ids)
            log.published = {
                lead_id: Published(orjson.loads(view), at, due) for lead_id, view, at, due in rows
            }
            log._index_dues()
        return log

    def observe(self, ledger: Ledger) -> None:
        """After the ledger folded one more entry: publish its lead's view if the rule says so."""
        applied = ledger.applied[-1]
        if applied.lead_id is None:
            return
        state = ledger.states[ledger.resolve(applied.lead_id)]
        update = next_update(self.published.get(state.lead_id), state, self.policy, applied.entry.time)
        if update is not None:
            self._take(state, update, cause=applied.entry.event_id)

    def catch_up(self, ledger: Ledger, entry: Entry) -> None:
        """Before an entry is folded: what fell due for its lead up to the entry's time is published
        first, from the state before the entry, as the sweep would have (decay.py)."""
        if self.earliest_due is None or entry.time < self.earliest_due:
            return
        if isinstance(entry, DecisionRecord):
            lead_ids = [ledger.resolve(entry.lead_id)]
        elif isinstance(entry, AccountDecided):
            return  # moves an account, no lead
        else:
            primary, linked, aliased = identity_keys(entry)
            keys = [k for k in (primary, *linked, *aliased) if k is not None]
            lead_ids = [k for k in (ledger.lookup(key) for key in keys) if k is not None]
        for lead_id in dict.fromkeys(lead_ids):
            state = ledger.states.get(lead_id)
            if state is not None:
                self.look(state, entry.time)

    def look(self, state: LeadState, until: datetime) -> None:
        """Publish what fell due for this lead up to `until` (the sweep's and the fold's one way)."""
        published = self.published.get(state.lead_id)
        if published is None or published.due is None or published.due > until:
            return
        for update in look_at(published, state, self.policy, until, view_of):
            self._take(state, update, cause=f"due@{update.at.isoformat()}")

    def _take(self, state: LeadState, update: Published, *, cause: str) -> None:
        before = self.published.get(state.lead_id)
        self.published[state.lead_id] = update
        self.touched.add(state.lead_id)
        if update.due is not None and (self.earliest_due is None or update.due < self.earliest_due):
            self.earliest_due = update.due
        if not update.sent:
            return
        data = updated_data(state, self.policy, update, before)
        self.updates.append(Update(state.lead_id, cause, update.at, data))

    async def save(self, db: asyncpg.Connection, outbox: Outbox, topic: str) -> None:
        """The views and the outbox rows, one statement each on the transaction's raw connection."""
        if not self.touched:
            return
        keys = sorted(self.touched)
        views = [orjson.dumps(self.published[k].view).decode() for k in keys]
        ats = [self.published[k].at for k in keys]
        await db.execute(SAVE, keys, views, ats, [self.published[k].due for k in keys])
        await outbox.add_bytes(db, topic, [(u.lead_id, u.id, u.payload()) for u in self.updates])
