"""Editing a policy file's text: one rule's `when:` block rewritten, or the rule removed, and the
`version` bumped; everything else (comments, order, other rules) stays byte for byte. Pure."""

from __future__ import annotations

import difflib
import re
from typing import Any

from services.common.policy.yaml_reader import flow_yaml, read_yaml

_VERSION = re.compile(r"^version:\s*(?P<value>.+?)\s*$", re.MULTILINE)


class PatchError(ValueError):
    """The policy text does not have the shape the patch needs (no such rule, no `when:`)."""


def rule_when(text: str, rule: str, section: str = "rules") -> dict[str, Any]:
    """The rule's `when:` mapping as plain data (behaviour, attributes, score); `section`: `rules` (MQL)
    or `account_rules` (MQA)."""
    for raw in (read_yaml(text) or {}).get(section) or []:
        if isinstance(raw, dict) and raw.get("name") == rule:
            return dict(raw.get("when") or {})
    raise PatchError(f"no rule named {rule!r}")


def bumped(version: str) -> str:
    """'2026.1' -> '2026.2'; 'v3-beta' -> 'v3-beta.1'."""
    m = re.search(r"(\d+)$", version)
    return version[: m.start()] + str(int(m.group(1)) + 1) if m else f"{version}.1"


def bump_version(text: str) -> tuple[str, str]:
    m = _VERSION.search(text)
    if m is None:
        raise PatchError("the policy has no top-level `version:` line")
    new = bumped(str(read_yaml(m.group("value"))))
    return text[: m.start()] + f'version: "{new}"' + text[m.end() :], new


def replace_when(text: str, rule: str, when: dict[str, Any], section: str = "rules") -> str:
    lines = text.splitlines(keepends=True)
    start, end = _rule_block(lines, rule, section)
    for i in range(start, end):
        stripped = lines[i].lstrip()
        if stripped.startswith("when:"):
            indent = len(lines[i]) - len(stripped)
            stop = i + 1
            while stop < end and (_indent(lines[stop]) > indent or not lines[stop].strip()):
                stop += 1
            while stop > i + 1 and not lines[stop - 1].strip():
                stop -= 1
            body = [" " * (indent + 2) + line + "\n" for line in render_when(when)]
            return "".join(lines[: i + 1] + body + lines[stop:])
    raise PatchError(f"rule {rule!r} has no `when:` block")


def render_when(when: dict[str, Any]) -> list[str]:
    """Two block levels (`behaviour:`, then its condition), flow style below: as the shipped policy."""
    out = []
    for key, value in when.items():
        if isinstance(value, dict):
            out.append(f"{key}:")
            out += [f"  {k}: {_flow(v)}" for k, v in value.items()]
        else:
            out.append(f"{key}: {_flow(value)}")
    return out


def _flow(value: Any) -> str:
    return flow_yaml(value)


def remove_rule(text: str, rule: str, section: str = "rules") -> str:
    lines = text.splitlines(keepends=True)
    start, end = _rule_block(lines, rule, section)
    while end < len(lines) and not lines[end].strip():
        end += 1  # the blank line that separated it from the next rule
    return "".join(lines[:start] + lines[end:])


def unified(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{name}", f"b/{name}"))


def _rule_block(lines: list[str], rule: str, section: str = "rules") -> tuple[int, int]:
    """The lines of the rule named `rule` in the top-level list `section` (a lead rule and an account
    rule may share a name)."""
    head = re.compile(r"^(\s*)- name:\s*['\"]?" + re.escape(rule) + r"['\"]?\s*(#.*)?$")
    inside = False
    for i, line in enumerate(lines):
        if line.strip() and not line[0].isspace() and not line.startswith(("#", "-")):
            inside = line.split(":", 1)[0].strip() == section  # a top-level key opens or closes it
        m = head.match(line.rstrip("\n")) if inside else None
        if m:
            indent = len(m.group(1))
            end = i + 1
            while end < len(lines):
                s = lines[end]
                if s.strip() and not s.lstrip().startswith("#") and _indent(s) <= indent:
                    break
                end += 1
            while end > i + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
                end -= 1
            return i, end
    raise PatchError(f"no rule named {rule!r}")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())
