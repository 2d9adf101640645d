"""The viewer's language and clock: Accept-Language read, the cookie winning, dates written per locale in
the viewer's zone (a download at 23:28 UTC is 08:28 the next morning in Tokyo)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.handoff.console.i18n import LANGUAGE_COOKIE, ZONE_COOKIE, accepted_language, viewer_of

AT = datetime(2026, 11, 14, 23, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", "ja"),
        ("en-GB,en;q=0.9,ja;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.5,ja;q=0.6", "ja"),
        ("fr,de", None),
        ("ja;q=0,en", "en"),
        ("ja;q=abc,en;q=0.1", "en"),
        ("", None),
        (None, None),
        ("ja," * 400, None),  # longer than any browser sends: not read
    ],
)
def test_accept_language(header: str | None, language: str | None) -> None:
    assert accepted_language(header) == language


def test_the_choice_in_the_cookie_wins_over_the_browser_and_the_default() -> None:
    choose = {"default_language": "ja", "zone": "Asia/Tokyo"}
    assert viewer_of({}, None, **choose).language == "ja"
    assert viewer_of({}, "en-US,en", **choose).language == "en"
    assert viewer_of({LANGUAGE_COOKIE: "ja"}, "en-US,en", **choose).language == "ja"
    assert viewer_of({LANGUAGE_COOKIE: "xx"}, "en-US,en", **choose).language == "en"


def test_times_on_the_viewers_clock_written_their_way() -> None:
    tokyo = viewer_of({}, "ja", default_language="ja", zone="Asia/Tokyo")
    assert tokyo.when(AT) == "2026年11月15日 08:28"
    assert tokyo.when(AT.isoformat()) == "2026年11月15日 08:28"
    assert tokyo.zone_label == "Asia/Tokyo (JST)"
    english = viewer_of({}, "en", default_language="ja", zone="Asia/Tokyo")
    assert english.when(AT) == "15 Nov 2026 08:28"
    london = viewer_of({ZONE_COOKIE: "Europe/London"}, "en", default_language="ja", zone="Asia/Tokyo")
    assert london.when(AT) == "14 Nov 2026 23:28"
    unknown_zone = viewer_of({ZONE_COOKIE: "Mars/Olympus"}, "en", default_language="ja", zone="Asia/Tokyo")
    assert unknown_zone.zone.key == "Asia/Tokyo"
    assert tokyo.when("not a time") == "not a time" and tokyo.when(None) == "-"


def test_ages_in_both_languages() -> None:
    ja = viewer_of({}, "ja", default_language="ja", zone="UTC")
    en = viewer_of({}, "en", default_language="ja", zone="UTC")
    seconds = 26 * 3600 + 5 * 60
    assert (ja.age(seconds), en.age(seconds)) == ("26時間05分", "26 h 05 min")
    assert (ja.age(3 * 86400 + 3600), en.age(3 * 86400 + 3600)) == ("3日1時間", "3 days 1 h")
    assert ja.age(float("nan")) == "–"


def test_stored_texts_of_any_shape_fall_back_to_the_plain_text() -> None:
    from jinja2 import Environment

    from services.handoff.console.words import install_filters

    env = Environment(autoescape=True)
    install_filters(env)
    viewer = viewer_of({}, "ja", default_language="ja", zone="UTC")
    page = env.from_string("{% for c in checks %}[{{ given(c, texts, loop.index0) }}]{% endfor %}")
    assert page.render(viewer=viewer, checks=["a", "b"], texts=[{"ja": "あ"}]) == "[あ][b]"
    for hostile in (None, "x", [1, 2], [{"ja": 5}], {"ja": "no list"}):
        assert page.render(viewer=viewer, checks=["a"], texts=hostile) == "[a]"
    reason = env.from_string("{{ r|reason }}")
    for params in (["list"], "text", {"items": "x"}, {"size": None}):
        stored = {"code": "company_size", "params": params, "text": "stored"}
        assert reason.render(viewer=viewer, r=stored) == "stored"


@pytest.mark.parametrize(
    ("days", "ja", "en"),
    [
        (("mon", "tue", "wed", "thu", "fri"), "月〜金", "Mon–Fri"),
        (("mon", "wed", "fri"), "月、水、金", "Mon, Wed, Fri"),
        (("sat", "mon", "tue", "wed"), "月〜水、土", "Mon–Wed, Sat"),
        (("mon", "tue"), "月、火", "Mon, Tue"),
    ],
)
def test_working_days_and_the_holiday_country_in_the_viewers_words(
    days: tuple[str, ...], ja: str, en: str
) -> None:
    from jinja2 import Environment

    from services.handoff.console.words import install_filters

    env = Environment(autoescape=True)
    install_filters(env)
    page = env.from_string("{{ days|weekdays }} / {{ 'JP'|country }}")
    for language, expected, country in (("ja", ja, "日本"), ("en", en, "Japan")):
        viewer = viewer_of({}, language, default_language="ja", zone="UTC")
        assert page.render(viewer=viewer, days=days) == f"{expected} / {country}"


def test_timeline_entries_in_the_viewers_words_from_their_parts() -> None:
    from services.common.policy.model import Label
    from services.handoff.console.timeline_words import entry_text
    from services.handoff.qualifier_client import TimelineEntry

    def entry(kind: str, text: str = "stored English", **params: str) -> TimelineEntry:
        return TimelineEntry(time=AT, kind=kind, text=text, params=params, anonymous=False, score=None)

    ja = viewer_of({}, "ja", default_language="ja", zone="UTC")
    en = viewer_of({}, "en", default_language="ja", zone="UTC")
    topics = {"lead-management": Label({"ja": "リード管理", "en": "Lead management"})}
    reasons = {"no_budget": Label({"ja": "予算なし", "en": "No budget"})}

    def both(e: TimelineEntry) -> tuple[str, str]:
        return entry_text(e, ja, topics, reasons), entry_text(e, en, topics, reasons)

    who = {"first_name": "Aoi", "last_name": "Ito", "title": "課長", "company": "日本システムズ"}
    assert both(entry("identify", **who)) == (
        "リードを特定：Ito Aoi（課長、日本システムズ）",  # family name first
        "Identified as Aoi Ito (課長, 日本システムズ)",
    )
    decided = entry("decision", outcome="rejected", reason="no_budget", reason_label="No budget", by="佐藤")
    assert both(decided) == (
        "営業の判定：見送り（予算なし）、判定者 佐藤",
        "Sales decision: Rejected (No budget) by 佐藤",
    )
    seminar = entry("track", event="Seminar Registered", detail="MQL設計", topic="lead-management")
    assert both(seminar) == (
        "セミナー「MQL設計」に申し込み（テーマ：リード管理）",
        "Registered for the seminar “MQL設計” on Lead management",
    )
    assert both(entry("page", title="料金", path="/pricing")) == (
        "ページ「料金」（/pricing）を閲覧",
        "Viewed the page “料金” (/pricing)",
    )
    assert both(entry("track", event="Demo Requested", detail="d-1")) == ("Demo Requested: d-1",) * 2
    assert both(entry("track")) == ("stored English",) * 2  # no parts: an older qualifier's text
