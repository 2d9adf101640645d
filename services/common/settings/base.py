"""What every area of the settings shares: the variables' prefix, the API scopes, the console roles, and
the error that names a variable."""

from __future__ import annotations

from typing import Literal

SCOPES = ("mql:read", "decisions:write", "reports:read", "webhooks:admin", "audit:read")
ENV_PREFIX = "LEADSTATE_"
Role = Literal["sales", "marketing", "admin"]  # services/handoff/accounts.py gives each its scopes


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""
