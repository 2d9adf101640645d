"""What a tracking message may not carry because it could not be stored or forwarded: characters
PostgreSQL text and jsonb cannot hold, and nesting deeper than the envelope writer can write.

JSON lets a client send "\\u0000", and PostgreSQL refuses it in text and jsonb alike; a message holding
one would be acknowledged here and then dead-lettered by the qualifier. So it is refused (400, the field
named) before anything is produced, in any string and any object key, at any depth. Lone surrogates
("\\ud800") never get this far: the JSON parser already refuses them as invalid JSON (400 `body`).
The parser reads up to 1,024 levels of nesting, but orjson writes at most 254, and the envelope adds
one: a request nested deeper than MAX_DEPTH levels is refused too, naming where it goes too deep.
"""

from __future__ import annotations

from typing import Any

import orjson

from .messages import FieldError

NUL = "\x00"
MAX_DEPTH = 253  # objects and arrays, the request itself being level 1
_ESCAPED_NUL = b"\\u0000"  # how orjson writes it: a body without it has none, whatever its depth
_SHOWN = 20


def unstorable(doc: dict[str, Any]) -> list[FieldError]:
    """One error per string (or key) that cannot be stored and per place nested too deep, by path."""
    try:
        # one level of wrapping: it is written only if the doc is at most MAX_DEPTH deep
        if _ESCAPED_NUL not in orjson.dumps([doc]):
            return []  # the common case costs one serialisation in C, not a walk in Python
    except TypeError:
        pass  # too deep, or a string no encoder takes: walk to name the field
    return _walk(doc)


def _walk(doc: dict[str, Any]) -> list[FieldError]:
    # iterative: a request may nest 1,024 levels, past Python's own recursion limit
    errors: list[FieldError] = []
    stack: list[tuple[object, str, int]] = [(doc, "", 1)]
    while stack and len(errors) < _SHOWN:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if not _storable(value):
                errors.append(
                    {"field": path or "body", "message": "holds a NUL character or a lone surrogate"}
                )
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            errors.append({"field": path or "body", "message": f"nested deeper than {MAX_DEPTH} levels"})
            continue
        if isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in reversed(list(enumerate(value))))
            continue
        for key, item in reversed(list(value.items())):
            child = f"{path}.{_shown(key)}" if path else _shown(key)
            if not _storable(key):
                errors.append({"field": child, "message": "this key holds a NUL or a lone surrogate"})
            stack.append((item, child, depth + 1))
    return errors


def _storable(text: str) -> bool:
    if NUL in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(key: str) -> str:
    # a field name in the answer must itself be encodable JSON text
    return key.replace(NUL, "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")
