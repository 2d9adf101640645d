"""Characters a tracking message may not carry: what PostgreSQL text and jsonb cannot store.

JSON lets a client send "\\u0000", and PostgreSQL refuses it in text and jsonb alike; a message holding
one would be acknowledged here and then dead-lettered by the qualifier. So it is refused (400, the field
named) before anything is produced, in any string and any object key, at any depth. Lone surrogates
("\\ud800") never get this far: the JSON parser already refuses them as invalid JSON (400 `body`).
"""

from __future__ import annotations

from typing import Any

import orjson

from .messages import FieldError

NUL = "\x00"
_ESCAPED_NUL = b"\\u0000"  # how orjson writes it: a body without it has none, whatever its depth
_SHOWN = 20


def unstorable_text(doc: dict[str, Any]) -> list[FieldError]:
    """One error per string (or key) holding a character PostgreSQL cannot store, named by its path."""
    try:
        if _ESCAPED_NUL not in orjson.dumps(doc):
            return []  # the common case costs one serialisation in C, not a walk in Python
    except TypeError:
        pass  # not encodable: a lone surrogate came in through another door; walk and name it
    errors: list[FieldError] = []
    _walk(doc, "", errors)
    return errors


def _walk(value: object, path: str, errors: list[FieldError]) -> None:
    if len(errors) >= _SHOWN:
        return
    if isinstance(value, str):
        if not _storable(value):
            errors.append({"field": path or "body", "message": "holds a NUL character or a lone surrogate"})
    elif isinstance(value, dict):
        for key, item in value.items():
            name = _shown(key)
            child = f"{path}.{name}" if path else name
            if not _storable(key):
                errors.append({"field": child, "message": "this key holds a NUL or a lone surrogate"})
            _walk(item, child, errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", errors)


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
