"""The console in the viewer's language and time zone.

Words come from gettext catalogs (Babel): `locale/<lang>/LC_MESSAGES/messages.po`, extracted from the
templates and the console's Python with `make catalogs` (babel.cfg). The `.po` file is the one source:
it is compiled to `.mo` in memory when first used, so a stale or missing `.mo` cannot exist; a catalog
that does not compile fails the process at start-up (`load_catalogs`), not on a page.

The language is the viewer's choice (the header's switch, kept in a cookie), else the browser's
Accept-Language, else LEADSTATE_DEFAULT_LANGUAGE. Times are shown in LEADSTATE_TIMEZONE unless the
viewer picked another zone (cookie, on the preferences page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from services.common.policy.model import in_language

from ..dates import local_time

LANGUAGES = ("ja", "en")
LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}
LANGUAGE_COOKIE = "leadstate_language"
ZONE_COOKIE = "leadstate_timezone"
LOCALES = Path(__file__).with_name("locale")
_MAX_HEADER = 500  # an Accept-Language longer than this is not read (a browser sends a few dozen bytes)


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown, in the viewer's language."""
    return message


class Msg(str):
    """A message parameter that is itself a catalog entry: translated too when the message is shown."""


@cache
def translations(language: str) -> Translations:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)  # a fuzzy entry is not a translation: it shows the English
    mo.seek(0)
    return Translations(mo, domain="messages")


def load_catalogs() -> None:
    for language in LANGUAGES:
        translations(language)


def accepted_language(header: str | None) -> str | None:
    """The console language the browser prefers most (`ja-JP,ja;q=0.9,en;q=0.8` → `ja`), if any."""
    if not header or len(header) > _MAX_HEADER:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, rest = part.strip().partition(";")
        try:
            weight = float(rest.strip()[2:]) if rest.strip().startswith("q=") else 1.0
        except ValueError:
            continue
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and weight > 0:
            ranked.append((-weight, position, primary))
    return min(ranked)[2] if ranked else None


def known_zone(name: str | None) -> ZoneInfo | None:
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class Viewer:
    """Who reads the page, as far as words and clocks go."""

    language: str
    zone: ZoneInfo

    def gettext(self, message: str, **params: Any) -> str:
        text = translations(self.language).gettext(message)
        return text % params if params else text

    def listed(self, value: Any) -> Any:
        """A parameter of a message: a tuple of policy texts (labels) as one list in the viewer's language."""
        if isinstance(value, tuple):
            comma = "、" if self.language == "ja" else ", "
            return comma.join(in_language(v, self.language) for v in value)
        if isinstance(value, Msg):
            return self.gettext(value)
        return in_language(value, self.language) if isinstance(value, str) else value

    @property
    def zone_label(self) -> str:
        """`Asia/Tokyo (JST)`: shown once per page, in the header."""
        short = datetime.now(UTC).astimezone(self.zone).tzname()
        return f"{self.zone.key} ({short})" if short and short != self.zone.key else self.zone.key

    def when(self, value: datetime | str | None) -> str:
        """A stored instant on the viewer's clock, written the viewer's way."""
        if value is None:
            return "-"
        try:
            at = datetime.fromisoformat(value) if isinstance(value, str) else value
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            return local_time(at, self.zone, self.language)
        except (ValueError, TypeError, OverflowError, AttributeError):
            return str(value)[:40]  # a stored value it cannot read as a time: shown as it is

    def age(self, seconds: float) -> str:
        if not 0 <= seconds < 1e15:  # NaN, negative or absurd: a stored value, shown as unknown
            return "–"
        minutes = int(seconds // 60)
        if minutes < 60:
            return self.gettext("%(minutes)d min", minutes=minutes)
        hours, minutes = divmod(minutes, 60)
        if hours < 48:
            return self.gettext("%(hours)d h %(minutes)02d min", hours=hours, minutes=minutes)
        return self.gettext("%(days)d days %(hours)d h", days=hours // 24, hours=hours % 24)


def viewer_of(
    cookies: dict[str, str], accept_language: str | None, *, default_language: str, zone: str
) -> Viewer:
    chosen = cookies.get(LANGUAGE_COOKIE)
    language = chosen if chosen in LANGUAGES else accepted_language(accept_language) or default_language
    return Viewer(language, known_zone(cookies.get(ZONE_COOKIE)) or ZoneInfo(zone))
