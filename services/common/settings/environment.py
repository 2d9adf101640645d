"""Reading the environment: refusing LEADSTATE_ names nothing reads, and turning a setting that cannot be
parsed into one line naming the variable (exit code 2): `load_settings` is the only place that does."""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping

from pydantic import ValidationError

from .base import ENV_PREFIX, SettingsError
from .model import Settings

# LEADSTATE_ variables that are not settings but are read where they are used; anything else prefixed
# LEADSTATE_ that is not a setting is a typo, and a typo silently ignored (LEADSTATE_DATABSE_URL starting
# an embedded database) is worse than a refusal.
NOT_SETTINGS = {
    "LEADSTATE_PARENT_PID": "set by `leadstate dev` on the services it starts (services/common/runtime.py)",
    "LEADSTATE_CHAOS_FULL": "`make chaos`: the full-length fault tests (tests/chaos/harness.py)",
    "LEADSTATE_TEST_BROKERS": "the brokers the test suite runs on (tests/brokers.py)",
    "LEADSTATE_SCREENSHOTS": "where the console browser test saves screenshots (tests/e2e/)",
}


def known_variables() -> set[str]:
    return {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields} | set(NOT_SETTINGS)


def check_unknown_variables(environ: Mapping[str, str]) -> None:
    """Refuse an environment variable prefixed LEADSTATE_ that nothing reads, naming the nearest known one."""
    known = known_variables()
    for name in sorted(environ):
        upper = name.upper()  # pydantic-settings matches names case-insensitively
        if upper.startswith(ENV_PREFIX) and upper not in known:
            nearest = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean {nearest[0]}?)" if nearest else " (see the README's settings table)"
            raise SettingsError(f"{name}: not a leadstate setting{hint}")


def load_settings(**overrides: object) -> Settings:
    check_unknown_variables(os.environ)
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = "_".join(str(p) for p in first["loc"]).upper()
        name = f"{ENV_PREFIX}{loc}" if loc else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raw = os.environ.get(name)
        secret = "KEYS" in name or "PASSWORD" in name
        shown = f" (got {raw!r})" if raw is not None and not secret else ""
        if not loc and message.startswith(ENV_PREFIX):  # a rule across settings names its variable itself
            raise SettingsError(message) from None
        raise SettingsError(f"{name}: {message}{shown}") from None


def exit_on_settings_error(error: SettingsError) -> None:
    print(f"leadstate: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)
