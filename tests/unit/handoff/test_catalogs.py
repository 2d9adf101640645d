"""The console's gettext catalogs are complete: every word the templates and the console's Python mark for
translation (extracted the way `make catalogs` does, from babel.cfg) is in each language's .po, translated
in Japanese, none fuzzy, with the same placeholders; and each catalog compiles."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from services.handoff.console.i18n import LANGUAGES, LOCALES, translations
from tests.support import ROOT

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\(\w+\)\w|<[^>]*>")


def extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def catalog(language: str) -> dict[str, tuple[str, bool]]:
    """msgid → (msgstr, fuzzy); a plural entry by its singular, with its first form (Japanese has one)."""
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        entries = [m for m in read_po(po) if m.id]
    return {
        m.id if isinstance(m.id, str) else m.id[0]: (
            m.string if isinstance(m.string, str) else (m.string[0] or ""),
            m.fuzzy,
        )
        for m in entries
    }


WORDS = extracted()


def test_the_extraction_finds_the_console() -> None:
    # a babel.cfg that matched nothing would make every check below pass on an empty set
    assert {"Inbox", "Record decision", "Why sales said not SQL", "%(minutes)d min"} <= WORDS


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_word_is_in_the_catalog_and_none_is_fuzzy(language: str) -> None:
    entries = catalog(language)
    missing = sorted(WORDS - set(entries))
    assert not missing, f"not in {language}/messages.po (run `make catalogs`): {missing}"
    fuzzy = sorted(m for m, (_, is_fuzzy) in entries.items() if is_fuzzy)
    assert not fuzzy, f"fuzzy in {language}/messages.po: {fuzzy}"
    unused = sorted(set(entries) - WORDS)
    assert not unused, f"in {language}/messages.po but no longer used: {unused}"


def test_japanese_translates_every_word_with_its_placeholders_and_tags() -> None:
    for message, (text, _) in catalog("ja").items():
        assert text.strip(), f"no Japanese for {message!r}"
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(message)), message


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_compiles_and_speaks_its_language(language: str) -> None:
    inbox = translations(language).gettext("Inbox")
    assert inbox == {"ja": "インボックス", "en": "Inbox"}[language]


def test_a_po_file_is_the_only_source() -> None:
    # no compiled .mo is kept beside the .po: it would go stale (the .po is compiled in memory)
    assert not list(LOCALES.rglob("*.mo"))
