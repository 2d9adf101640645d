"""Tiny server-rendered SVG charts: horizontal bars (rates, counts) and a line over time (a score).

Pure functions returning markup; colours come from classes styled in console.css, so the charts follow
the page's look and need no inline style (the Content-Security-Policy forbids it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from unicodedata import east_asian_width

from markupsafe import Markup

FONT_PX = 13


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: nothing to show yet (drawn as an empty track)
    shown: str  # the value as text, e.g. "42%"
    note: str = ""  # context after the value, e.g. "12 of 29 decided · 40 MQLs"


def bar_chart(
    bars: list[Bar],
    *,
    title: str,
    max_value: float | None = None,
    width: int = 1000,
    empty: str = "Nothing in this period yet.",
) -> Markup:
    if not bars:
        return Markup(f'<p class="empty">{escape(empty)}</p>')
    label_w = min(360, max(80, 8 * max(_units(b.label) for b in bars)))
    value_w, row_h, gap = 260, 22, 10
    track_w = width - label_w - value_w
    top = max_value or max((b.value or 0 for b in bars), default=0) or 1
    height = len(bars) * (row_h + gap) + gap
    parts = [_open(width, height, title)]
    for i, bar in enumerate(bars):
        y = gap + i * (row_h + gap)
        mid = y + row_h / 2 + FONT_PX * 0.35
        filled = 0 if bar.value is None else max(2.0, track_w * min(bar.value, top) / top)
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{mid:.1f}" text-anchor="end">'
            f"{escape(_clip(bar.label, label_w))}</text>"
            f'<rect class="track" x="{label_w}" y="{y}" width="{track_w}" height="{row_h}" rx="3"/>'
        )
        if filled:
            parts.append(
                f'<rect class="bar" x="{label_w}" y="{y}" width="{filled:.1f}" height="{row_h}" rx="3"/>'
            )
        parts.append(
            f'<text class="value" x="{label_w + track_w + 8}" y="{mid:.1f}">{escape(bar.shown)}'
            f'<tspan class="note" dx="6">{escape(bar.note)}</tspan></text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    points: list[tuple[datetime, float]],
    *,
    title: str,
    marks: list[tuple[datetime, str]] = (),  # type: ignore[assignment]
    when: Callable[[datetime], str] = lambda at: at.strftime("%b %d %H:%M"),  # an axis label
    empty: str = "No events recorded for this lead.",
    width: int = 1000,
    height: int = 220,
) -> Markup:
    if not points:
        return Markup(f'<p class="empty">{escape(empty)}</p>')
    left, right, top_pad, bottom = 44, 16, 14, 28
    t0 = min(t for t, _ in points).timestamp()
    t1 = max([t for t, _ in points] + [t for t, _ in marks]).timestamp()
    span = (t1 - t0) or 1.0
    v_max = max(v for _, v in points) or 1.0
    v_top = _nice_ceiling(v_max)

    def x(t: datetime) -> float:
        return left + (width - left - right) * (t.timestamp() - t0) / span

    def y(v: float) -> float:
        return top_pad + (height - top_pad - bottom) * (1 - v / v_top)

    parts = [_open(width, height, title)]
    for step in range(5):
        value = v_top * step / 4
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:g}</text>'
        )
    for at, label in marks:
        near_end = x(at) > width - right - 60  # a label at the right edge reads leftwards
        parts.append(
            f'<line class="mark" x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{top_pad}" y2="{height - bottom}"/>'
            f'<text class="mark-label" x="{x(at) + (-4 if near_end else 4):.1f}" y="{top_pad + 10}" '
            f'text-anchor="{"end" if near_end else "start"}">{escape(label)}</text>'
        )
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(t):.1f},{y(v):.1f}" for i, (t, v) in enumerate(points))
    parts.append(f'<path class="line" d="{path}"/>')
    parts.extend(f'<circle class="dot" cx="{x(t):.1f}" cy="{y(v):.1f}" r="2.5"/>' for t, v in points)
    for at in (min(t for t, _ in points), max(t for t, _ in points)):
        anchor = "start" if at.timestamp() == t0 else "end"
        parts.append(
            f'<text class="axis" x="{x(at):.1f}" y="{height - 8}" text-anchor="{anchor}">'
            f"{escape(when(at))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )


def _units(text: str) -> int:
    """Width in half-width characters: a Japanese character takes the room of two Latin ones."""
    return sum(2 if east_asian_width(c) in "WF" else 1 for c in text)


def _clip(text: str, width_px: int) -> str:
    room = max(4, int(width_px / 7.6))
    if _units(text) <= room:
        return text
    kept, used = [], 0
    for c in text:
        used += _units(c)
        if used > room - 1:
            break
        kept.append(c)
    return "".join(kept) + "…"


def _nice_ceiling(value: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if value <= step * 4:
            return float(step * 4)
    return value
