"""Hostile policy documents, shared by the unit tests and the CLI/HTTP tests that refuse them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
DEFAULT_POLICY_TEXT = (ROOT / "policies" / "default.yaml").read_text(encoding="utf-8")


def billion_laughs() -> str:
    """Nine levels of anchors, each a list of nine aliases of the one before: about 450 bytes that
    `yaml.safe_load` expands into 9**9 (387 million) strings."""
    lines = ["version: '1'", "a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    for level in range(1, 9):
        aliases = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    lines.append("rules: *a8")
    return "\n".join(lines) + "\n"


def ten_megabytes() -> str:
    """The default policy with a 10 MB description."""
    filler = "x" * 80
    return DEFAULT_POLICY_TEXT + "".join(f"# {filler}\n" for _ in range(10 * 1024 * 1024 // 83))


def many_rules(n: int = 10_000) -> str:
    """The default policy with `n` more (tiny) rules appended to its list."""
    extra = "".join(f"  - {{name: extra-{i}}}\n" for i in range(n))
    head, _, tail = DEFAULT_POLICY_TEXT.partition("\nrules:\n")
    return f"{head}\nrules:\n{extra}{tail}"


def with_title_patterns(*patterns: str) -> str:
    """The default policy whose `staff` level also lists `patterns` (single-quoted YAML)."""
    quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in patterns)
    marker = "    staff: ["
    assert marker in DEFAULT_POLICY_TEXT
    return DEFAULT_POLICY_TEXT.replace(marker, f"{marker}{quoted}, ", 1)


# Patterns a backtracking engine takes exponential time on, each with a 10,000-character title it does
# not match (the slow case) and one it does.
A, X = "a" * 10_000, "x" * 10_000
CATASTROPHIC = {
    "(a+)+$": (A + "!", A),
    "(x|x)*y": (X, X + "y"),
    "(a|aa)+$": (A + "!", A),
    "(a|a?)+b": (A, A + "b"),
    "(.*a){12}$": (A + "!", A),
    "^(([a-z])+.)+[A-Z]([a-z])+$": (A + "!", A),
}
