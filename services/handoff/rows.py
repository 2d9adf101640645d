"""One stored row a page cannot show never takes the page down: the rows it can show are answered, the
one it cannot is skipped, logged with its key, and counted (`leadstate_handoff_unrenderable_rows_total`).

The projection validates every MQL it stores, so such a row comes from outside that path (a manual fix,
an old version's data, a restore); the inbox must still serve sales meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from prometheus_client import Counter
from pydantic import ValidationError

log = logging.getLogger(__name__)
UNRENDERABLE = Counter(
    "leadstate_handoff_unrenderable_rows_total",
    "Stored rows a page or report skipped because it could not show them (each also logged)",
    ["view"],
)

Row = TypeVar("Row")
Shown = TypeVar("Shown")


def show_each(
    rows: Iterable[Row], show: Callable[[Row], Shown], *, view: str, key: Callable[[Row], str]
) -> list[Shown]:
    shown = []
    for row in rows:
        try:
            shown.append(show(row))
        except Exception as exc:  # any failure of one row's data is that row's, not the page's
            UNRENDERABLE.labels(view).inc()
            log.error(
                "%s: skipped stored row %s it cannot show (%s: %.200s)",
                view,
                key(row),
                type(exc).__name__,
                exc,
            )
    return shown


def _what(exc: Exception) -> str:
    # the fields at fault, never their values: a row holds identities and traits (no personal data in logs)
    if isinstance(exc, ValidationError):
        return "invalid " + ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:5])
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r:.60}"
    return type(exc).__name__
