"""All of leadstate's settings: environment variables prefixed LEADSTATE_, one class for every service,
declared by area (`kafka`, `access`, `processing`, `outbound`; the rest and the checks across areas in
`model`). Import from here: `from services.common.settings import Settings, load_settings`.

A setting that cannot be parsed stops the process with one line naming the variable (exit code 2);
`load_settings` (`environment`) is the only place that turns a ValidationError into that line.
"""

from __future__ import annotations

from .base import ENV_PREFIX, SCOPES, Role, SettingsError
from .environment import (
    NOT_SETTINGS,
    check_unknown_variables,
    exit_on_settings_error,
    known_variables,
    load_settings,
)
from .model import Settings

__all__ = [
    "ENV_PREFIX",
    "NOT_SETTINGS",
    "SCOPES",
    "Role",
    "Settings",
    "SettingsError",
    "check_unknown_variables",
    "exit_on_settings_error",
    "known_variables",
    "load_settings",
]
