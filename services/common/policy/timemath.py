"""Time arithmetic that is total: over the whole range of datetimes it saturates instead of raising.

Event times are bounded at ingest, but a stored time may still be an extreme one (PostgreSQL's
±infinity reads back as Python's first and last instant): no page or fold may fail on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def aware(at: datetime) -> datetime:
    """asyncpg reads ±infinity as naive datetime.min/max: a naive time is read as UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def shifted(at: datetime, delta: timedelta) -> datetime:
    """`at + delta`, held at the first or last instant Python knows instead of overflowing."""
    try:
        return at + delta
    except OverflowError:
        edge = datetime.max if delta > timedelta(0) else datetime.min
        return edge.replace(tzinfo=at.tzinfo)
