"""The pure policy core of the qualifier: lead state, scoring, MQL rules and their explanations.

Imports only the standard library, PyYAML and RE2 (linear-time matching of user-written patterns);
no IO and no clock (time is always passed in).
"""

from .activity import Activity, activity_kind, activity_topic
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
    "Activity",
    "Decayed",
    "Evaluation",
    "Evidence",
    "LeadState",
    "MqlDecision",
    "MqlRule",
    "Policy",
    "PolicyError",
    "PolicyIssue",
    "ReasonCode",
    "Recycle",
    "RuleResult",
    "Sla",
    "Stage",
    "activity_kind",
    "activity_topic",
    "apply_activity",
    "apply_decision",
    "describe_policy",
    "evaluate",
    "explain",
    "load_policy",
    "mark_mql",
    "merge_states",
    "qualify",
    "score_at",
    "score_components",
]
