"""Public holidays for the business-hours SLA, from the maintained `holidays` package.

Kept outside the pure policy core: the core receives the set of dates and only compares them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache

import holidays


@cache
def _country(code: str, years: tuple[int, ...]) -> frozenset[date]:
    return frozenset(holidays.country_holidays(code, years=years))


def public_holidays(code: str | None, years: Iterable[int]) -> frozenset[date]:
    """The public holidays of country `code` (e.g. JP) in `years`; none when `code` is None."""
    return frozenset() if code is None else _country(code, tuple(sorted(set(years))))


class Holidays:
    """The public holidays of one country as a container of dates, read a year at a time when asked
    (an SLA counted over New Year needs next year's holidays too)."""

    def __init__(self, code: str | None) -> None:
        self.code = code

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.code is not None and day in _country(self.code, (day.year,))
