"""Reading the MQL policy named by LEADSTATE_POLICY_PATH; a bad file stops start-up with its reasons."""

from __future__ import annotations

from pathlib import Path

from services.common.settings import Settings, SettingsError

from .policy import Policy, PolicyError, load_policy

ROOT = Path(__file__).resolve().parents[2]


def resolve_path(path: Path) -> Path:
    """A relative path is read from the working directory, else from the repository (or image) root,
    so `policies/default.yaml` works wherever the command is started."""
    if path.is_absolute() or path.exists() or not (ROOT / path).exists():
        return path
    return ROOT / path


def read_policy(path: Path) -> Policy:
    """Raises SettingsError (one line per problem, with line numbers) when unreadable or invalid."""
    path = resolve_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"LEADSTATE_POLICY_PATH: cannot read {path}: {exc.strerror}") from None
    try:
        return load_policy(text, str(path))
    except PolicyError as exc:
        raise SettingsError(f"LEADSTATE_POLICY_PATH: {path} is not a valid policy:\n{exc}") from None


def settings_policy(settings: Settings) -> Policy:
    return read_policy(settings.policy_path)
