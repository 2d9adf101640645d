"""Reading MQL policy files (LEADSTATE_POLICY_PATH, or one named on the command line): never further
than a policy's maximum size, and parsed only by the policy core's one safe loader. A bad file stops
start-up with its reasons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.settings import Settings, SettingsError

from .policy import Policy, PolicyError, PolicyIssue, load_policy
from .policy.limits import MAX_DOCUMENT_BYTES

ROOT = Path(__file__).resolve().parents[2]


def resolve_path(path: Path) -> Path:
    """A relative path is read from the working directory, else from the repository (or image) root,
    so `policies/default.yaml` works wherever the command is started."""
    if path.is_absolute() or path.exists() or not (ROOT / path).exists():
        return path
    return ROOT / path


def read_policy_text(path: Path) -> str:
    """The file's text; PolicyError (line 1) when it is larger than a policy may be or not UTF-8, OSError
    when it cannot be read. Reads at most one byte more than the limit, whatever the file's size."""
    with path.open("rb") as stream:
        data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        size = path.stat().st_size if path.is_file() else "more than"
        message = f"the document is {size} bytes; a policy is at most {MAX_DOCUMENT_BYTES} bytes"
        raise PolicyError([PolicyIssue(line=1, path="", message=message)], str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyError([PolicyIssue(line=line, path="", message="not UTF-8 text")], str(path)) from None


@dataclass(frozen=True)
class PolicyDocument:
    """A policy with the text it was loaded from (a simulation's baseline is the policy the process runs)."""

    text: str
    policy: Policy


def read_policy_document(path: Path) -> PolicyDocument:
    """Raises SettingsError (one line per problem, with line numbers) when unreadable or invalid."""
    path = resolve_path(path)
    try:
        text = read_policy_text(path)
    except OSError as exc:
        raise SettingsError(f"LEADSTATE_POLICY_PATH: cannot read {path}: {exc.strerror}") from None
    except PolicyError as exc:
        raise SettingsError(f"LEADSTATE_POLICY_PATH: {path} is not a valid policy:\n{exc}") from None
    try:
        return PolicyDocument(text, load_policy(text, str(path)))
    except PolicyError as exc:
        raise SettingsError(f"LEADSTATE_POLICY_PATH: {path} is not a valid policy:\n{exc}") from None


def read_policy(path: Path) -> Policy:
    """Raises SettingsError (one line per problem, with line numbers) when unreadable or invalid."""
    return read_policy_document(path).policy


def settings_policy(settings: Settings) -> Policy:
    return read_policy(settings.policy_path)
