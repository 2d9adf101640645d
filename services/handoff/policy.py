"""What the handoff needs from the MQL policy file the qualifier uses: reason codes and the decision SLA."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.common.policy import Policy, ReasonCode

from .sla import SlaClock


@dataclass(frozen=True, kw_only=True)
class HandoffPolicy:
    version: str
    sql: tuple[ReasonCode, ...]
    not_sql: tuple[ReasonCode, ...]
    decision_hours: float
    due_soon_hours: float
    clock: SlaClock  # due times and SLA states: wall-clock or working hours (`sla.business_hours`)
    topics: dict[str, str]  # topic id -> label (a Label per language, or a plain string): chat alerts
    # for decisions on MQAs: the policy's accounts.reasons, else the same as above
    account_sql: tuple[ReasonCode, ...] = ()
    account_not_sql: tuple[ReasonCode, ...] = ()

    def reasons_for(self, outcome: str, *, accounts: bool = False) -> tuple[ReasonCode, ...]:
        """SQL codes for `sql`; not-SQL codes for `rejected` and `recycled` (an MQA's with `accounts`)."""
        if accounts:
            return self.account_sql if outcome == "sql" else self.account_not_sql
        return self.sql if outcome == "sql" else self.not_sql

    def reason(self, outcome: str, code: str, *, accounts: bool = False) -> ReasonCode | None:
        return next((r for r in self.reasons_for(outcome, accounts=accounts) if r.code == code), None)


def handoff_policy(policy: Policy, *, timezone: str = "Asia/Tokyo") -> HandoffPolicy:
    """The part of the policy the handoff uses, from the policy its process read once at start-up;
    `timezone` (LEADSTATE_TIMEZONE) is where business hours are counted."""
    hours, soon = float(policy.sla.decision_hours), float(policy.sla.due_soon_hours)
    return HandoffPolicy(
        version=policy.version,
        sql=policy.sql_reasons,
        not_sql=policy.not_sql_reasons,
        decision_hours=hours,
        due_soon_hours=soon,
        clock=SlaClock(hours, soon, policy.sla.business_hours, ZoneInfo(timezone)),
        topics=dict(policy.topics),
        account_sql=policy.account_reason_codes("sql"),
        account_not_sql=policy.account_reason_codes("rejected"),
    )
