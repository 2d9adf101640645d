"""`decide`: the one decide flow the API and the console share, for a lead's MQL and an account's MQA
(a `Register` says which) (reason lookup, note limit, idempotency,
the relay woken after a new decision); each of them only translates its outcome. `record_decision`: one
transaction that locks the lead's open MQL, stores the decision, writes the
`leadstate.lead.decision.v1` event to the outbox and remembers the Idempotency-Key's answer.

Two concurrent decisions on one MQL: the row lock serialises them and the second finds no open MQL
(409); the unique mql_id on decisions is the last line of defence.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Table, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.envelope import new_envelope
from services.common.outbox import Outbox
from services.common.policy import OUTCOMES, ReasonCode

from .audit import Actor, record
from .policy import HandoffPolicy
from .tables import account_decisions, decisions, idempotency_keys, mqas, mqls

DECISION_TYPE = "leadstate.lead.decision.v1"
ACCOUNT_DECISION_TYPE = "leadstate.account.decision.v1"
MAX_NOTE = 4000  # characters; a decision's note is a sentence or two for marketing, not a file


class DecisionRefused(Exception):
    """A decision that cannot be recorded as asked; the API and the console each word it for their reader."""


class UnknownOutcome(DecisionRefused):
    pass


class UnknownReason(DecisionRefused):
    def __init__(self, valid: tuple[ReasonCode, ...]) -> None:
        super().__init__()
        self.valid = valid


class NoteTooLong(DecisionRefused):
    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = length


class UnknownLead(DecisionRefused):
    pass


class NoOpenMql(DecisionRefused):
    pass


class IdempotencyKeyReused(DecisionRefused):
    """The key was used before with a different request."""


@dataclass(frozen=True, kw_only=True)
class Register:
    """What is decided on: the open qualifications, where decisions go, their names and event type."""

    opened: Table  # mqls | mqas
    decided: Table  # decisions | account_decisions
    subject: str  # lead_id | account_id
    key: str  # mql_id | mqa_id
    event_type: str
    accounts: bool  # reason codes: the accounts' own (policy accounts.reasons) or the MQL ones


LEADS = Register(
    opened=mqls, decided=decisions, subject="lead_id", key="mql_id", event_type=DECISION_TYPE, accounts=False
)
ACCOUNTS = Register(
    opened=mqas,
    decided=account_decisions,
    subject="account_id",
    key="mqa_id",
    event_type=ACCOUNT_DECISION_TYPE,
    accounts=True,
)


@dataclass(frozen=True, kw_only=True)
class DecisionInput:
    lead_id: str  # or the account's id, deciding on an MQA
    outcome: str
    reason: ReasonCode
    note: str | None
    decided_by: str


@dataclass(frozen=True, kw_only=True)
class Recorded:
    status: int
    body: dict[str, Any]
    replayed: bool


@dataclass(frozen=True, kw_only=True)
class IdempotencyKey:
    key_hash: str
    request_hash: str

    @classmethod
    def of(cls, caller_key_id: str, key: str, request: dict[str, Any]) -> IdempotencyKey:
        # Scoped by API key: two clients choosing the same key do not see each other's answers.
        key_hash = hashlib.sha256(f"{caller_key_id}\0{key}".encode()).hexdigest()
        request_hash = hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return cls(key_hash=key_hash, request_hash=request_hash)


@dataclass(frozen=True, kw_only=True)
class Decide:
    """A sales decision as asked for, its reason a code not yet checked against the policy."""

    lead_id: str  # or the account's id, for `register=ACCOUNTS`
    outcome: str
    reason: str
    note: str | None
    register: Register = LEADS


@dataclass(frozen=True, kw_only=True)
class Decider:
    """What deciding needs, wired once in the handoff's app.py."""

    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    topic: str
    policy: HandoffPolicy
    wake_relay: Callable[[], None]


async def decide(
    decider: Decider,
    asked: Decide,
    *,
    decided_by: str,
    caller: str,
    idempotency_key: str | None,
    now: datetime,
    actor: Actor | None = None,
) -> Recorded:
    """Record `asked` on the lead's open MQL; a DecisionRefused subclass says why not. `caller` scopes the
    Idempotency-Key (the API key's id); the same key and request answer the first answer again."""
    if asked.outcome not in OUTCOMES:
        raise UnknownOutcome()
    accounts = asked.register.accounts
    reason = decider.policy.reason(asked.outcome, asked.reason, accounts=accounts)
    if reason is None:
        raise UnknownReason(decider.policy.reasons_for(asked.outcome, accounts=accounts))
    if asked.note is not None and len(asked.note) > MAX_NOTE:
        raise NoteTooLong(len(asked.note))
    idempotency = None
    if idempotency_key is not None:
        request = {
            asked.register.subject: asked.lead_id,
            "outcome": asked.outcome,
            "reason": asked.reason,
            "note": asked.note,
            "decided_by": decided_by,
        }
        idempotency = IdempotencyKey.of(caller, idempotency_key, request)
    decision = DecisionInput(
        lead_id=asked.lead_id, outcome=asked.outcome, reason=reason, note=asked.note, decided_by=decided_by
    )
    recorded = await record_decision(
        decider.sessions,
        decider.outbox,
        topic=decider.topic,
        decision=decision,
        idempotency=idempotency,
        now=now,
        actor=actor,
        register=asked.register,
    )
    if not recorded.replayed:
        decider.wake_relay()
    return recorded


async def record_decision(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    *,
    topic: str,
    decision: DecisionInput,
    idempotency: IdempotencyKey | None,
    now: datetime,
    actor: Actor | None = None,
    register: Register = LEADS,
) -> Recorded:
    try:
        async with sessions() as session, session.begin():
            recorded = await _record(session, outbox, topic, decision, idempotency, now, register)
            if actor is not None and not recorded.replayed:
                detail = {k: recorded.body[k] for k in (register.subject, "outcome", "reason", "decided_by")}
                await record(session, actor, "decision.recorded", recorded.body["decision_id"], detail)
            return recorded
    except IntegrityError:
        # A twin request with the same Idempotency-Key, or a decision that slipped past the lock,
        # committed first: answer as if we had come second.
        async with sessions() as session:
            if idempotency is not None and (replay := await _replay(session, idempotency)):
                return replay
        raise NoOpenMql() from None


async def _record(
    session: AsyncSession,
    outbox: Outbox,
    topic: str,
    decision: DecisionInput,
    idempotency: IdempotencyKey | None,
    now: datetime,
    register: Register,
) -> Recorded:
    if idempotency is not None and (replay := await _replay(session, idempotency)):
        return replay
    m = register.opened.c
    subject, key = m[register.subject], m[register.key]
    mql = (
        await session.execute(
            select(register.opened)
            .where(subject == decision.lead_id, m.decision_id.is_(None))
            .order_by(m.episode.desc(), m.qualified_at.desc())
            .limit(1)
            .with_for_update()
        )
    ).first()
    if mql is None:
        # After waiting on the lock, a twin with our Idempotency-Key may have decided it: that is a replay.
        if idempotency is not None and (replay := await _replay(session, idempotency)):
            return replay
        if not await session.scalar(select(exists().where(subject == decision.lead_id))):
            raise UnknownLead()
        raise NoOpenMql()

    decision_id = str(uuid.uuid4())
    qualification_id = mql._mapping[register.key]
    data = {
        "decision_id": decision_id,
        register.subject: decision.lead_id,
        register.key: qualification_id,
        "episode": mql.episode,
        "outcome": decision.outcome,
        "reason": {"code": decision.reason.code, "label": decision.reason.label},
        "note": decision.note,
        "decided_by": decision.decided_by,
        "decided_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),  # as the API writes it
        "policy_version": mql.policy_version,
        "rule": mql.rule,
        "time_to_decision_s": max(0.0, (now - mql.qualified_at).total_seconds()),
    }
    await session.execute(
        insert(register.decided).values(
            **{register.key: qualification_id, register.subject: decision.lead_id},
            decision_id=decision_id,
            episode=mql.episode,
            outcome=decision.outcome,
            reason_code=decision.reason.code,
            reason_label=decision.reason.label,
            note=decision.note,
            decided_by=decision.decided_by,
            decided_at=now,
            time_to_decision_s=data["time_to_decision_s"],
            data=data,
        )
    )
    await session.execute(
        update(register.opened).where(key == qualification_id).values(decision_id=decision_id)
    )
    envelope = new_envelope(
        register.event_type, data, source="handoff", subject=decision.lead_id, time=now, id_=decision_id
    )
    await outbox.add(session, topic, [envelope])
    if idempotency is not None:
        await session.execute(
            insert(idempotency_keys).values(
                key_hash=idempotency.key_hash,
                request_hash=idempotency.request_hash,
                status=201,
                response=data,
                created_at=now,
            )
        )
    return Recorded(status=201, body=data, replayed=False)


async def _replay(session: AsyncSession, idempotency: IdempotencyKey) -> Recorded | None:
    row = (
        await session.execute(
            select(idempotency_keys).where(idempotency_keys.c.key_hash == idempotency.key_hash)
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != idempotency.request_hash:
        raise IdempotencyKeyReused()
    return Recorded(status=row.status, body=row.response, replayed=True)
