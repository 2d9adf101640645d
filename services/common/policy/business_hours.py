"""The decision SLA counted in working hours: "48 hours" as two working days of 9:00-18:00.

Pure: the time zone and the public holidays come in from the caller (`services/common/calendar.py`
reads them from the `holidays` package); only dates are compared here.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as LocalTime  # `time(...)` reads as the clock to the purity test

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_DAYS = 3660  # a calendar without any working day must not loop forever


@dataclass(frozen=True, kw_only=True)
class BusinessHours:
    days: tuple[str, ...] = WEEKDAYS[:5]
    start: LocalTime = LocalTime(9)
    end: LocalTime = LocalTime(18)
    holidays: str | None = "JP"  # country code for the `holidays` package; None: no public holidays

    @property
    def hours_per_day(self) -> float:
        return (datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)).seconds / 3600

    def is_working_day(self, day: date, holidays: Container[date]) -> bool:
        return WEEKDAYS[day.weekday()] in self.days and day not in holidays


def add_working_hours(
    start: datetime, hours: float, bh: BusinessHours, zone: tzinfo, holidays: Container[date]
) -> datetime:
    """The instant `hours` working hours after `start`, counted in `zone`'s local working days.

    Time before opening counts from the opening; time after closing, on a weekend or a holiday counts
    from the next working day's opening.
    """
    local = start.astimezone(zone)
    left = timedelta(hours=hours)
    day = local.date()
    for _ in range(_MAX_DAYS):
        if bh.is_working_day(day, holidays):
            opens = datetime.combine(day, bh.start, zone)
            closes = datetime.combine(day, bh.end, zone)
            begin = max(local, opens)
            if begin < closes:
                if begin + left <= closes:
                    return (begin + left).astimezone(start.tzinfo)
                left -= closes - begin
        day += timedelta(days=1)
    raise ValueError("no working day within ten years: check sla.business_hours.days")


def qualified_by(
    end: datetime, hours: float, bh: BusinessHours, zone: tzinfo, holidays: Container[date]
) -> datetime:
    """The last instant whose `hours` working hours are over by `end`: everything qualified at or before
    it is due at or before `end` (the inverse of `add_working_hours`, for the inbox's SLA filter).

    Counted backwards from `end` through the working hours before it; landing on an opening, the closed
    time before that opening is included, since it counts from that opening too.
    """
    local = end.astimezone(zone)
    left = timedelta(hours=hours)
    day = local.date()
    for _ in range(_MAX_DAYS):
        if bh.is_working_day(day, holidays):
            opens = datetime.combine(day, bh.start, zone)
            finish = min(local, datetime.combine(day, bh.end, zone))
            if finish > opens:
                if finish - left >= opens:
                    return (finish - left).astimezone(end.tzinfo)
                left -= finish - opens
        day -= timedelta(days=1)
    raise ValueError("no working day within ten years: check sla.business_hours.days")
