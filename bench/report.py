"""What the benchmarks print and keep: plain tables, percentiles, target checks, results JSON, and a
summary of py-spy's raw (collapsed-stack) profiles. Pure functions, no infrastructure."""

from __future__ import annotations

import json
import os
import platform
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


class Skipped(Exception):
    """A stage cannot be measured here and now (not implemented yet, or infrastructure missing)."""


@dataclass
class Check:
    target: str
    value: float | None
    limit: float
    higher_is_better: bool = True

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.limit if self.higher_is_better else self.value < self.limit


@dataclass
class Outcome:
    """One benchmark's figures; `status` is ok, skipped or failed (with `reason`)."""

    name: str
    status: str = "ok"
    reason: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    profiles: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["checks"] = [{**asdict(c), "met": c.met} for c in self.checks]
        return doc


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of unsorted values; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil without floats drifting
    return ordered[int(min(rank, len(ordered))) - 1]


def percentile_ms(values: Sequence[float], p: float) -> float | None:
    """`percentile` of values in seconds, in milliseconds."""
    found = percentile(values, p)
    return None if found is None else 1000 * found


def by_window(timed: Sequence[tuple[float, float]], p: float = 50, windows: int = 4) -> list[float | None]:
    """The p-th percentile latency (ms) of what was sent in each successive part of a run, from
    (sent, latency) pairs sorted by sent: a figure that grows from window to window means something
    falls behind the offered rate."""
    if not timed:
        return []
    first, last = timed[0][0], timed[-1][0]
    span = (last - first) / windows or 1.0
    parts: list[list[float]] = [[] for _ in range(windows)]
    for sent, latency in timed:
        parts[min(windows - 1, int((sent - first) / span))].append(latency)
    return [percentile_ms(part, p) for part in parts]


def fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: Iterable[Sequence[object]], header: Sequence[str]) -> str:
    cells = [list(header), *([fmt(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(padded)

    lines = [line(r) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def checks_table(checks: Sequence[Check]) -> str:
    rows = []
    for c in checks:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[c.met]
        sign = ">=" if c.higher_is_better else "<"
        rows.append((c.target, c.value, f"{sign} {fmt(c.limit)}", verdict))
    return table(rows, ("target", "measured", "wanted", "verdict"))


def ratios_line(outcomes: Sequence[Outcome]) -> str:
    parts = [f"{k}={v:.2f}" for o in outcomes for k, v in o.ratios.items()]
    return "ratios: " + (" ".join(parts) if parts else "none measured")


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        import psutil

        ram_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "ram_gb": ram_gb, "python": platform.python_version()}


def write_results(outcomes: Sequence[Outcome], *, quick: bool, path: Path | None = None) -> Path:
    """Merge into latest.json: a benchmark run alone keeps the others' last figures."""
    path = path or RESULTS_DIR / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        doc = {}
    doc["machine"] = machine()
    benches = doc.setdefault("benchmarks", {})
    for o in outcomes:
        benches[o.name] = {**o.to_json(), "quick": quick}
    path.write_text(json.dumps(doc, indent=2, default=str))
    return path


# -- py-spy raw profiles -------------------------------------------------------------------------
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")
# Frames every sample of a service passes through: they say nothing about where the cost is.
ENTRY_FRAMES = frozenset(
    {
        "services/cli.py:<module>",
        "services/cli.py:main",
        "services/common/runtime.py:serve",
        "services/stack/commands.py:_service",
    }
)
_SITE = re.compile(r"(?:site-packages|dist-packages|lib/python3\.\d+)/(?P<pkg>[A-Za-z0-9_]+)")


def parse_collapsed(lines: Iterable[str]) -> list[tuple[list[str], int]]:
    """py-spy `--format raw` lines ("frame;frame;… count") as (frames root-first, samples)."""
    stacks = []
    for line in lines:
        line = line.strip()
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def frame_function(frame: str) -> str:
    """ "send (aiokafka/producer/producer.py:450)" → "aiokafka/producer/producer.py:send"."""
    m = _FRAME.match(frame)
    if not m:
        return frame
    file = m["file"]
    for marker in ("site-packages/", "dist-packages/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    if "/services/" in file:
        file = "services/" + file.split("/services/", 1)[1]
    return f"{file}:{m['func']}"


def frame_package(frame: str) -> str:
    """The top-level package of a frame's file ("services/ingest" for the project's own code)."""
    name = frame_function(frame)
    path = name.rpartition(":")[0] if ":" in name else name
    site = _SITE.search(path)
    if site:
        return site["pkg"]
    parts = path.lstrip("/").split("/")
    if parts[0] == "services":
        return "/".join(parts[:2])
    return parts[0].removesuffix(".py") if len(parts) > 1 or path.endswith(".py") else "<other>"


def summarize_profile(lines: Iterable[str], top: int = 8) -> dict[str, list[tuple[str, float]]]:
    """Shares of on-CPU samples: by own time per function, by own time per package, and inclusive
    time of the project's own functions (which service code the cost sits under)."""
    stacks = parse_collapsed(lines)
    total = sum(n for _, n in stacks) or 1
    own: Counter[str] = Counter()
    own_pkg: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, n in stacks:
        if not frames:
            continue
        own[frame_function(frames[-1])] += n
        own_pkg[frame_package(frames[-1])] += n
        for name in {frame_function(f) for f in frames}:
            if name.startswith("services/") and name not in ENTRY_FRAMES:
                inclusive[name] += n

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {
        "self": shares(own),
        "packages": shares(own_pkg),
        "services_inclusive": shares(inclusive),
        "samples": [("total", float(total))],
    }


def profile_lines(summary: dict[str, list[tuple[str, float]]]) -> list[str]:
    out = [f"samples: {int(summary['samples'][0][1])}"]
    for title, key in (
        ("own time by package", "packages"),
        ("own time by function", "self"),
        ("inclusive time under service code", "services_inclusive"),
    ):
        out.append(f"  {title}:")
        out.extend(f"    {share:5.1f}%  {name}" for name, share in summary[key])
    return out
