"""How each language writes a date and time: 2026年11月15日 08:28 / 15 Nov 2026 08:28 (CLDR patterns via
Babel). The console's pages and the chat alerts both write times this way."""

from __future__ import annotations

from datetime import datetime, tzinfo

from babel.dates import format_datetime

DATE_TIME = {"ja": "y年M月d日 HH:mm", "en": "d MMM y HH:mm"}


def local_time(at: datetime, zone: tzinfo, language: str) -> str:
    """`at` on `zone`'s clock, written the `language` way (`ja` or `en`)."""
    pattern = DATE_TIME.get(language, DATE_TIME["en"])
    return format_datetime(at, pattern, tzinfo=zone, locale=language if language in DATE_TIME else "en")
