"""The policy's user-written matching (title patterns, URL path globs) on RE2, a linear-time engine.

Python's `re` backtracks: a title pattern like `(a+)+$` against a title of 35 `a`s and a `!` runs for
ever, and a policy is written by people (and, in the lab, by anyone who may read reports). RE2 matches
in time linear in the text, whatever the pattern; in exchange it has no backreferences (`\\1`) and no
lookaround (`(?=`, `(?<!`), which `pattern_problem` reports with the reason. Title patterns are
case-insensitive with Unicode case folding, as before; `\\b`, `\\w` and `\\d` are ASCII in RE2, which the
Japanese titles of the default policy do not use (they match as plain text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

import re2

from .limits import MAX_PATTERN_CHARS

Matcher = Callable[[str], object]  # truthy when the text matches
CACHED_PATHS, CACHED_PATH_CHARS = 4096, 256  # per matcher: at most ~1 MB of remembered paths

UNSUPPORTED = (
    "patterns run on RE2, a linear-time engine: backreferences (\\1) and lookaround ((?=, (?!, (?<=, (?<!) "
    "are not supported"
)


def _options(*, case_sensitive: bool) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False  # a refused pattern is reported to the policy's author, not to stderr
    return options


def _compile(pattern: str, *, case_sensitive: bool) -> re2._Regexp:
    return re2.compile(pattern, _options(case_sensitive=case_sensitive))


def pattern_problem(pattern: str, *, glob: bool = False) -> str | None:
    """Why a title pattern (or a path glob) cannot be used, in a sentence; None when it can."""
    what = "path pattern" if glob else "title pattern"
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"{what} of {len(pattern)} characters (at most {MAX_PATTERN_CHARS})"
    try:
        _compile(glob_regex(pattern) if glob else pattern, case_sensitive=glob)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args else "invalid"
        hint = f" ({UNSUPPORTED})" if any(s in reason for s in ("escape", "perl operator")) else ""
        return f"invalid {what} {pattern!r}: {reason}{hint}"
    return None


def compile_problem(build: Callable[[], object]) -> str | None:
    """RE2's reason when `build` (which compiles patterns) fails; None when it succeeds."""
    try:
        build()
    except re2.error as exc:
        return exc.args[0].decode("utf-8", "replace") if exc.args else "invalid"
    return None


def title_matcher(patterns: Iterable[str]) -> Matcher:
    """Whether a title matches any of `patterns`, case-insensitively (searched anywhere in the title)."""
    listed = list(patterns)
    if not listed:
        return lambda text: None
    return _compile("|".join(f"(?:{p})" for p in listed), case_sensitive=False).search


def glob_matcher(globs: str | Iterable[str]) -> Matcher:
    """Whether a whole path matches a glob (any of them), as `fnmatch.fnmatchcase` would answer."""
    listed = [globs] if isinstance(globs, str) else list(globs)
    if not listed:
        return lambda text: None
    regex = "|".join(f"(?:{glob_regex(g)})" for g in listed)
    match = _compile(f"(?s)(?:{regex})", case_sensitive=True).fullmatch

    # A site's paths repeat, and a call into RE2's binding costs microseconds (it encodes the text and
    # builds a match object): the answers for short paths are remembered, a bounded number of them.
    @lru_cache(maxsize=CACHED_PATHS)
    def remembered(path: str) -> bool:
        return match(path) is not None

    def matches(path: str) -> bool:
        return remembered(path) if len(path) <= CACHED_PATH_CHARS else match(path) is not None

    return matches


def glob_regex(glob: str) -> str:
    """`fnmatch.translate` for RE2: `*` any run, `?` one character, `[...]`/`[!...]` a class; the rest
    literal. An unclosed `[` is literal, as in fnmatch."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c == "*":
            if not out or out[-1] != ".*":  # `**` is `*`
                out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i
            if j < n and glob[j] == "!":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:
                out.append("\\[")
                continue
            body = glob[i:j].replace("\\", "\\\\")
            i = j + 1
            if body.startswith("!"):
                body = "^" + body[1:]
            elif body.startswith("^"):
                body = "\\" + body
            out.append(f"[{body}]")
        else:
            out.append(re2.escape(c))
    return "".join(out)
