"""What the handoff needs from the MQL policy file the qualifier uses: reason codes and the decision SLA.

The one place that imports the qualifier's policy loader, so that moving it changes one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import Settings, SettingsError
from services.qualifier.policy import PolicyError, load_policy

OUTCOMES = ("sql", "rejected", "recycled")


@dataclass(frozen=True, kw_only=True)
class ReasonCode:
    code: str
    label: str


@dataclass(frozen=True, kw_only=True)
class HandoffPolicy:
    version: str
    sql: tuple[ReasonCode, ...]
    not_sql: tuple[ReasonCode, ...]
    decision_hours: float
    due_soon_hours: float

    def reasons_for(self, outcome: str) -> tuple[ReasonCode, ...]:
        """SQL codes for `sql`; not-SQL codes for `rejected` and `recycled`."""
        return self.sql if outcome == "sql" else self.not_sql

    def reason(self, outcome: str, code: str) -> ReasonCode | None:
        return next((r for r in self.reasons_for(outcome) if r.code == code), None)


def parse_reason_codes(text: str, source: str) -> HandoffPolicy:
    policy = load_policy(text, source)
    return HandoffPolicy(
        version=policy.version,
        sql=tuple(ReasonCode(code=r.code, label=r.label) for r in policy.sql_reasons),
        not_sql=tuple(ReasonCode(code=r.code, label=r.label) for r in policy.not_sql_reasons),
        decision_hours=float(policy.sla.decision_hours),
        due_soon_hours=float(policy.sla.due_soon_hours),
    )


def load_reason_codes(settings: Settings) -> HandoffPolicy:
    """Read LEADSTATE_POLICY_PATH; a missing or invalid file is a SettingsError naming it."""
    path = settings.policy_path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"LEADSTATE_POLICY_PATH: cannot read {path}: {exc.strerror}") from None
    try:
        return parse_reason_codes(text, str(path))
    except PolicyError as exc:
        raise SettingsError(f"LEADSTATE_POLICY_PATH: {path} is not a valid policy:\n{exc}") from None
