"""Deriving the fit attributes the rules compare (industry id, title level, company-size band)."""

from __future__ import annotations

import re
from typing import Any

from .model import Fit


def normalise_industry(value: Any) -> str | None:
    """'IT Services' -> 'it_services', so sites need not spell ids exactly."""
    if not isinstance(value, str):
        return None
    text = re.sub(r"[^0-9a-z]+", "_", value.strip().lower()).strip("_")
    return text or value.strip() or None


def title_level(title: Any, fit: Fit) -> str | None:
    """The highest level whose patterns match the free-text title; None when none does."""
    if not isinstance(title, str) or not title.strip():
        return None
    for name, matches in fit.compiled_levels:
        if matches(title):
            return name
    return None


def company_size(value: Any, fit: Fit) -> tuple[int | None, str | None]:
    """(employees, band) from an int, a numeric string, a range like '51-200', or a band name."""
    if isinstance(value, bool):
        return None, None
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if any(b.name == text for b in fit.company_size_bands):
            return None, text
        match = re.match(r"^(\d+)\s*(?:[-~+]|\Z)", text)
        value = int(match.group(1)) if match else None
    if isinstance(value, float):
        value = int(value)
    if not isinstance(value, int) or value < 0:
        return None, None
    for band in fit.company_size_bands:
        if band.min <= value and (band.max is None or value <= band.max):
            return value, band.name
    return value, None
