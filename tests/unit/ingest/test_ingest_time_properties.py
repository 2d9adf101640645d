"""The event-time rule over every pair of clocks a client can send: it never raises, and what it lets
through lies between the floor and receivedAt + the future bound, never on an instant stored as infinity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.common.envelope import INFINITIES
from services.ingest.messages import FUTURE_REPLACED, SKEW_IGNORED, TimeRules, event_time

any_time = st.datetimes(timezones=st.timezones() | st.just(UTC))
received = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)
rules = st.builds(
    TimeRules,
    max_skew=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    max_future=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    floor=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(2000, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
)


@given(timestamp=any_time | st.none(), sent_at=any_time | st.none(), received_at=received, rules=rules)
def test_event_time_is_total_and_bounded(
    timestamp: datetime | None, sent_at: datetime | None, received_at: datetime, rules: TimeRules
) -> None:
    time, corrections = event_time(timestamp, sent_at, received_at, rules)
    if time is None:
        assert timestamp is not None and FUTURE_REPLACED not in corrections
        return
    assert rules.floor <= time <= received_at + rules.max_future
    assert time not in INFINITIES and time.utcoffset() == timedelta(0)
    if FUTURE_REPLACED in corrections:
        assert time == received_at
    if SKEW_IGNORED not in corrections and FUTURE_REPLACED not in corrections and timestamp is not None:
        skew = received_at - sent_at if sent_at is not None else timedelta(0)
        assert time == timestamp + skew
