"""Reading MQL policy files (LEADSTATE_POLICY_PATH, or one named on the command line): never further
than a policy's maximum size, and parsed only by the policy core's one safe loader. This is the one
reader: services call `settings_policy` once at start-up and pass the result on; the CLI verbs call
`read_policy_file` and print a PolicyFileError as one message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.settings import Settings, SettingsError

from .policy import Policy, PolicyError, PolicyIssue, load_policy
from .policy.limits import MAX_DOCUMENT_BYTES

ROOT = Path(__file__).resolve().parents[2]


class PolicyFileError(Exception):
    """A policy file that cannot be read or is not a valid policy; the message names the file (and,
    for an invalid one, every problem with its line)."""


@dataclass(frozen=True, kw_only=True)
class PolicyFile:
    """A policy as read from its file: the text (what a simulation's baseline replays), where it came
    from, and the loaded policy."""

    path: Path
    text: str
    policy: Policy

    @property
    def source(self) -> str:
        return str(self.path)


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


def read_policy_file(path: Path) -> PolicyFile:
    """The file read and loaded; PolicyFileError when it cannot be read or is not a valid policy."""
    path = resolve_path(path)
    try:
        text = read_policy_text(path)
        return PolicyFile(path=path, text=text, policy=load_policy(text, str(path)))
    except OSError as exc:
        raise PolicyFileError(f"cannot read {path}: {exc.strerror}") from None
    except PolicyError as exc:
        raise PolicyFileError(f"{path} is not a valid policy:\n{exc}") from None


def settings_policy_file(settings: Settings) -> PolicyFile:
    """LEADSTATE_POLICY_PATH read; a SettingsError naming the variable when it is unreadable or invalid
    (the CLI turns that into one message and exit code 2)."""
    try:
        return read_policy_file(settings.policy_path)
    except PolicyFileError as exc:
        raise SettingsError(f"LEADSTATE_POLICY_PATH: {exc}") from None


def settings_policy(settings: Settings) -> Policy:
    return settings_policy_file(settings).policy
