"""`--brokers kafka,tansu`: the same benchmarks once per broker in one invocation, then one table with
a column per broker and the ratio of the later broker's figure to the first one's, and a ratio line."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .report import Outcome, table

KINDS = ("kafka", "tansu")


def parse_brokers(value: str) -> list[str]:
    """`kafka,tansu` → ["kafka", "tansu"]; an unknown or repeated name is refused with the valid ones."""
    kinds = [k.strip() for k in value.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds or len(set(kinds)) != len(kinds):
        raise ValueError(f"--brokers takes {' and/or '.join(KINDS)}, comma-separated, each once: {value!r}")
    return kinds


def figures(outcome: Outcome) -> Iterator[tuple[str, float]]:
    """The numeric figures of an outcome: top-level metrics, and those one dict down (`hop.p99`)."""
    for key, value in outcome.metrics.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            yield key, float(value)
        elif isinstance(value, Mapping):
            for sub, inner in value.items():
                if isinstance(inner, int | float) and not isinstance(inner, bool):
                    yield f"{key}.{sub}", float(inner)
    for key, value in outcome.ratios.items():
        yield f"ratio {key}", float(value)


def rows(per_broker: Mapping[str, Sequence[Outcome]]) -> list[list[Any]]:
    """(benchmark, figure, value per broker..., later ÷ first) for figures every broker measured."""
    kinds = list(per_broker)
    measured: dict[str, dict[str, dict[str, float]]] = {}
    order: list[str] = []
    for kind, outcomes in per_broker.items():
        for o in outcomes:
            if o.status != "ok":
                continue
            if o.name not in measured:
                order.append(o.name)
            measured.setdefault(o.name, {})[kind] = dict(figures(o))
    out: list[list[Any]] = []
    for name in order:
        by_kind = measured[name]
        if set(by_kind) != set(kinds):
            continue
        for figure in by_kind[kinds[0]]:
            values = [by_kind[k].get(figure) for k in kinds]
            if any(v is None for v in values):
                continue
            ratio = values[-1] / values[0] if len(values) > 1 and values[0] else None  # type: ignore[operator]
            out.append([name, figure, *values, ratio])
    return out


def side_by_side(per_broker: Mapping[str, Sequence[Outcome]]) -> str:
    kinds = list(per_broker)
    header = ["benchmark", "figure", *kinds, f"{kinds[-1]}/{kinds[0]}"]
    found = rows(per_broker)
    return table(found, header) if found else "no figure measured on every broker"


def ratio_line(per_broker: Mapping[str, Sequence[Outcome]], wanted: Sequence[str] = ()) -> str:
    """One line of later ÷ first for the headline figures (p99s, rates); all of them when none match."""
    kinds = list(per_broker)
    found = rows(per_broker)
    headline = [r for r in found if any(w in r[1] for w in wanted)] or found
    parts = [f"{r[0]}.{r[1]}={r[-1]:.2f}" for r in headline if r[-1] is not None]
    return f"brokers {kinds[-1]}/{kinds[0]}: " + (" ".join(parts) if parts else "none measured")
