"""The pure policy core of the qualifier: lead state, scoring, MQL rules and their explanations.

Accounts (buying groups, MQAs) live in the `account_*` and `buying_group` modules.
Imports only the standard library, PyYAML and RE2 (linear-time matching of user-written patterns);
no IO and no clock (time is always passed in).
"""

from .account_explain import buying_group, describe_account_rules
from .account_model import AccountPolicy, AccountRule, Role
from .account_rules import AccountEvaluation, Mqa, apply_account_decision, evaluate_account, qualify_account
from .activity import Activity, activity_kind, activity_topic
from .buying_group import AccountState, Member, Membership, member_from_lead, membership
from .explain import describe_policy, explain
from .lead import Evidence, LeadState, Stage
from .loader import load_policy
from .model import (
    OUTCOMES,
    MqlRule,
    Policy,
    PolicyError,
    PolicyIssue,
    ReasonCode,
    Recycle,
    Sla,
)
from .rules import Evaluation, MqlDecision, RuleResult, evaluate, qualify
from .scoring import Decayed, score_at, score_components
from .state import apply_activity, apply_decision, mark_mql, merge_states

__all__ = [
    "OUTCOMES",
    "AccountEvaluation",
    "AccountPolicy",
    "AccountRule",
    "AccountState",
    "Activity",
    "Decayed",
    "Evaluation",
    "Evidence",
    "LeadState",
    "Member",
    "Membership",
    "Mqa",
    "MqlDecision",
    "MqlRule",
    "Policy",
    "PolicyError",
    "PolicyIssue",
    "ReasonCode",
    "Recycle",
    "Role",
    "RuleResult",
    "Sla",
    "Stage",
    "activity_kind",
    "activity_topic",
    "apply_account_decision",
    "apply_activity",
    "apply_decision",
    "buying_group",
    "describe_account_rules",
    "describe_policy",
    "evaluate",
    "evaluate_account",
    "explain",
    "load_policy",
    "mark_mql",
    "member_from_lead",
    "membership",
    "merge_states",
    "qualify",
    "qualify_account",
    "score_at",
    "score_components",
]
