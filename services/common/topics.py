"""The topics of a deployment, named in settings; tests and benchmarks use fresh suffixed ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings


@dataclass(frozen=True)
class Topics:
    events: str
    mql: str
    decisions: str
    dead_letter: str
    state: str  # lead.updated: the latest per lead is what counts, so Kafka compacts it

    @classmethod
    def suffixed(cls, suffix: str) -> Topics:
        return cls(
            f"events-{suffix}",
            f"mql-{suffix}",
            f"decisions-{suffix}",
            f"deadletter-{suffix}",
            f"state-{suffix}",
        )

    def all(self) -> list[str]:
        return [self.events, self.mql, self.decisions, self.dead_letter, self.state]

    def compacted(self) -> list[str]:
        return [self.state]


def settings_topics(settings: Settings) -> Topics:
    """The topics a deployment's settings name."""
    return Topics(
        settings.topic_events,
        settings.topic_mql,
        settings.topic_decisions,
        settings.topic_dead_letter,
        settings.topic_lead_state,
    )
