"""Reason codes from YAML: the lists sales picks from when deciding (for MQLs, and for MQAs if the
policy gives accounts their own)."""

from __future__ import annotations

import re
from typing import Any

from .checks import Checker
from .model import ReasonCode

CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def read_reasons(
    c: Checker, raw: Any, where: str = "reasons"
) -> tuple[tuple[ReasonCode, ...] | None, tuple[ReasonCode, ...]]:
    """`{sql: [{code, label}], not_sql: [...]}` at `where` (the MQL reasons, or the accounts' own)."""
    m = c.mapping(raw, where, allowed={"sql", "not_sql"}, required={"sql", "not_sql"})
    if m is None:
        return None, ()
    seen: set[str] = set()
    out = []
    for group in ("sql", "not_sql"):
        codes = []
        items = m.get(group)
        if not isinstance(items, list) or not items:
            c.error(f"{where}.{group}", "must be a non-empty list of {code, label}")
        for i, item in enumerate(items or []):
            path = f"{where}.{group}[{i}]"
            e = c.mapping(item, path, allowed={"code", "label"}, required={"code", "label"})
            if e is None or "code" not in e or "label" not in e:
                continue
            code, label = c.text(e["code"], f"{path}.code"), c.label(e["label"], f"{path}.label")
            if code and not CODE.match(code):
                c.error(f"{path}.code", f"reason code {code!r} must be lower_snake_case")
            elif code in seen:
                c.error(f"{path}.code", f"reason code {code!r} is listed twice")
            elif code and label:
                seen.add(code)
                codes.append(ReasonCode(code=code, label=label))
        out.append(tuple(codes))
    return out[0], out[1]
