"""Values both the MQL rules and the account rules use (model.py and account_model.py import them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Attributes:
    """Every listed condition must hold; None means not part of this rule."""

    industry_in: tuple[str, ...] | None = None
    industry_is_target: bool = False  # written `industry_in: target` in YAML
    title_level_at_least: str | None = None
    company_size_in: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class ReasonCode:
    code: str
    label: str
