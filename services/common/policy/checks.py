"""Typed reads of a parsed policy, collecting issues instead of stopping at the first.

A policy is reviewed by people: one run should list every problem, each with the line to fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import Any

from .model import Label, PolicyIssue
from .reasons import LANGUAGES

_LAST_STEP = re.compile(r"(\.[^.\[\]]+|\[\d+\])$")


class Checker:
    """Typed reads of untrusted YAML values; each failed read records an issue and returns None."""

    def __init__(self, lines: dict[str, int], issues: list[PolicyIssue]) -> None:
        self.lines = lines
        self.issues = issues

    def line(self, path: str) -> int:
        while path not in self.lines and path:
            path = _LAST_STEP.sub("", path) if _LAST_STEP.search(path) else ""
        return self.lines.get(path, 1)

    def error(self, path: str, message: str, rule: str | None = None) -> None:
        self.issues.append(PolicyIssue(line=self.line(path), path=path, message=message, rule=rule))

    def mapping(
        self,
        value: Any,
        path: str,
        *,
        allowed: set[str],
        required: AbstractSet[str] = frozenset(),
        rule: str | None = None,
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.error(path, f"must be a mapping, got {_kind(value)}", rule)
            return None
        for key in value:
            if key not in allowed:
                self.error(
                    f"{path}.{key}" if path else str(key),
                    f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})",
                    rule,
                )
        for key in sorted(required - set(value)):
            self.error(path, f"missing required key {key!r}", rule)
        return {k: v for k, v in value.items() if k in allowed}

    def text(self, value: Any, path: str, rule: str | None = None) -> str | None:
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.error(path, f"must be a non-empty string, got {_kind(value)}", rule)
        return None

    def label(self, value: Any, path: str, rule: str | None = None) -> str | None:
        """A plain string, or one per language: `{ja: 予算なし, en: No budget}` (a `Label`)."""
        if not isinstance(value, dict):
            return self.text(value, path, rule)
        if not value:
            self.error(path, "must name at least one language (ja, en)", rule)
            return None
        texts: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in LANGUAGES:
                known = ", ".join(LANGUAGES)
                self.error(f"{path}.{lang}", f"unknown language {lang!r} (known: {known})", rule)
            elif (t := self.text(text, f"{path}.{lang}", rule)) is not None:
                texts[str(lang)] = t
        return Label(texts) if len(texts) == len(value) else None

    def labels(self, value: Any, path: str, rule: str | None = None) -> list[str] | None:
        return self.texts(value, path, rule, item=self.label)

    def number(
        self, value: Any, path: str, *, minimum: float = 0, strict: bool = False, rule: str | None = None
    ) -> float | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and (value > minimum or (not strict and value == minimum)):
            return float(value)
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        self.error(path, f"must be a number {bound}, got {value!r}", rule)
        return None

    def count(self, value: Any, path: str, rule: str | None = None) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        self.error(path, f"must be a whole number >= 1, got {value!r}", rule)
        return None

    def texts(
        self,
        value: Any,
        path: str,
        rule: str | None = None,
        item: Callable[[Any, str, str | None], str | None] | None = None,
    ) -> list[str] | None:
        if not isinstance(value, list) or not value:
            self.error(path, f"must be a non-empty list, got {_kind(value)}", rule)
            return None
        read = item or self.text
        out = [read(v, f"{path}[{i}]", rule) for i, v in enumerate(value)]
        return [t for t in out if t is not None] if all(t is not None for t in out) else None

    def member(
        self, value: str, known: list[str] | tuple[str, ...], what: str, path: str, rule: str | None = None
    ) -> bool:
        if value in known:
            return True
        self.error(path, f"unknown {what} {value!r} (known: {', '.join(known) or 'none'})", rule)
        return False


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"the string {value!r}" if isinstance(value, str) else repr(value)
