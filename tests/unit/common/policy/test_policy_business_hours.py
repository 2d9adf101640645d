"""The decision SLA in working hours: weekends and Japanese public holidays do not count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.calendar import public_holidays
from services.common.policy import load_policy
from services.common.policy.business_hours import BusinessHours, add_working_hours, qualified_by

from .conftest import DEFAULT_POLICY_TEXT

TOKYO = ZoneInfo("Asia/Tokyo")
BH = BusinessHours()


def _jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def test_48_working_hours_from_friday_morning_skip_the_weekend():
    # Fri 2026-11-06 10:00 JST: 8 h Fri, 9 h each Mon-Thu (Nov 9-12) = 44 h, 4 h more on Fri 13th
    due = add_working_hours(_jst(2026, 11, 6, 10), 48, BH, TOKYO, set())
    assert due == _jst(2026, 11, 13, 13)


def test_a_public_holiday_does_not_count():
    holidays = public_holidays("JP", [2026])
    assert datetime(2026, 11, 23).date() in holidays  # 勤労感謝の日, a Monday in 2026
    # Fri 2026-11-20 17:00 JST: 1 h on Fri, Sat/Sun/Mon(holiday) skipped, 9 h Tue -> due Tue 18:00
    due = add_working_hours(_jst(2026, 11, 20, 17), 10, BH, TOKYO, holidays)
    assert due == _jst(2026, 11, 24, 18)
    without_holiday = add_working_hours(_jst(2026, 11, 20, 17), 10, BH, TOKYO, set())
    assert without_holiday == _jst(2026, 11, 23, 18)


def test_an_mql_after_hours_starts_counting_at_the_next_opening_and_keeps_the_callers_zone():
    start = datetime(2026, 11, 14, 23, 28, tzinfo=UTC)  # Sun 08:28 JST
    due = add_working_hours(start, 2, BH, TOKYO, set())
    assert due == _jst(2026, 11, 16, 11) and due.tzinfo is UTC


def test_the_policy_option_is_read_and_checked():
    text = DEFAULT_POLICY_TEXT.replace(
        "  due_soon_hours: 8\n", "  due_soon_hours: 8\n  business_hours: {start: '09:30', holidays: JP}\n"
    )
    sla = load_policy(text).sla
    assert sla.business_hours == BusinessHours(start=BusinessHours().start.replace(minute=30))
    bad = DEFAULT_POLICY_TEXT.replace(
        "  due_soon_hours: 8\n", "  due_soon_hours: 8\n  business_hours: {end: '25:00', days: [mon, fry]}\n"
    )
    with pytest.raises(ValueError) as e:
        load_policy(bad)
    assert "sla.business_hours.days: unknown weekday 'fry'" in str(e.value)
    assert "sla.business_hours.end: must be a local time HH:MM, got '25:00'" in str(e.value)


@pytest.mark.parametrize(
    "qualified",
    [
        _jst(2026, 11, 20, 17),  # Fri before the weekend and the Monday holiday
        _jst(2026, 11, 20, 18, 30),  # Fri after closing
        _jst(2026, 11, 21, 12),  # Saturday
        _jst(2026, 11, 24, 9),  # Tue, the opening after the holiday
        _jst(2026, 11, 24, 9, 1),
        _jst(2026, 11, 6, 10),
    ],
)
def test_qualified_by_is_the_inverse_the_inbox_filters_with(qualified):
    holidays = public_holidays("JP", [2026])
    for hours in (1, 10, 48):
        due = add_working_hours(qualified, hours, BH, TOKYO, holidays)
        # due by `due`: everything qualified at or before the bound, nothing after it
        bound = qualified_by(due, hours, BH, TOKYO, holidays)
        assert qualified <= bound
        assert add_working_hours(bound, hours, BH, TOKYO, holidays) <= due
        later = bound + timedelta(minutes=1)
        assert add_working_hours(later, hours, BH, TOKYO, holidays) > due


def test_qualified_by_across_the_weekend_and_the_holiday():
    holidays = public_holidays("JP", [2026])
    # due Tue 24th 18:00 after 10 working hours: qualified up to Fri 20th 17:00 (1 h Fri + 9 h Tue)
    assert qualified_by(_jst(2026, 11, 24, 18), 10, BH, TOKYO, holidays) == _jst(2026, 11, 20, 17)
    # 9 hours back from Tue 18:00 lands on Tue's opening: the weekend and the holiday are included
    assert qualified_by(_jst(2026, 11, 24, 18), 9, BH, TOKYO, holidays) == _jst(2026, 11, 24, 9)
