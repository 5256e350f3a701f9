"""Server-side SVG charts: lab trends and BTA doses on a time axis, text kept as text.

No JavaScript and nothing from the internet: each function returns an ``<svg>`` element
(:class:`markupsafe.Markup`, every text escaped) that the page embeds. Styling comes from
``static/app.css`` classes, so the charts follow the page (print, high contrast).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

WIDTH: Final = 640
HEIGHT: Final = 170
LEFT: Final = 56
RIGHT: Final = 40
TOP: Final = 22
BOTTOM: Final = 28


@dataclass(frozen=True, slots=True)
class Point:
    day: dt.date
    value: float
    label: str | None = None


def _x(day: dt.date, start: dt.date, end: dt.date) -> float:
    span = max((end - start).days, 1)
    return LEFT + (WIDTH - LEFT - RIGHT) * (day - start).days / span


def _ticks(start: dt.date, end: dt.date, count: int = 5) -> list[dt.date]:
    span = max((end - start).days, 1)
    return [start + dt.timedelta(days=round(span * i / (count - 1))) for i in range(count)]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def line_chart(
    title: str,
    unit: str,
    points: Sequence[Point],
    *,
    band: tuple[float | None, float | None] = (None, None),
    css: str = "series",
) -> Markup:
    """A trend: one polyline with a dot and its value per measurement, the reference band
    (``band`` = lower, upper limit) shaded, dates on the x axis."""
    if not points:
        return Markup("")
    ordered = sorted(points, key=lambda p: p.day)
    start, end = ordered[0].day, ordered[-1].day
    if start == end:
        start -= dt.timedelta(days=15)
        end += dt.timedelta(days=15)
    values = [p.value for p in ordered] + [b for b in band if b is not None]
    low, high = min(values), max(values)
    if high == low:
        high, low = high + 1, low - 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad

    def y(v: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (high - v) / (high - low)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text class="chart-title" x="{LEFT}" y="14">{escape(title)} ({escape(unit)})</text>',
    ]
    lower, upper = band
    if lower is not None or upper is not None:
        top = y(upper) if upper is not None else TOP
        bottom = y(lower) if lower is not None else HEIGHT - BOTTOM
        parts.append(
            f'<rect class="chart-band" x="{LEFT}" y="{top:.1f}" '
            f'width="{WIDTH - LEFT - RIGHT}" height="{max(bottom - top, 0):.1f}"/>'
        )
    parts.append(
        f'<line class="chart-axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" '
        f'x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}"/>'
    )
    for v in (low + pad, high - pad):
        parts.append(
            f'<text class="chart-tick" x="{LEFT - 4}" y="{y(v) + 4:.1f}" '
            f'text-anchor="end">{escape(_fmt(v))}</text>'
        )
    for tick in _ticks(start, end):
        parts.append(
            f'<text class="chart-tick" x="{_x(tick, start, end):.1f}" y="{HEIGHT - 8}" '
            f'text-anchor="middle">{tick.isoformat()}</text>'
        )
    coords = " ".join(f"{_x(p.day, start, end):.1f},{y(p.value):.1f}" for p in ordered)
    parts.append(f'<polyline class="chart-line {css}" points="{coords}"/>')
    for p in ordered:
        cx, cy = _x(p.day, start, end), y(p.value)
        parts.append(
            f'<circle class="chart-dot {css}" cx="{cx:.1f}" cy="{cy:.1f}" r="3">'
            f"<title>{p.day.isoformat()}: {escape(_fmt(p.value))} {escape(unit)}</title></circle>"
        )
        parts.append(
            f'<text class="chart-value" x="{cx:.1f}" y="{cy - 6:.1f}" '
            f'text-anchor="middle">{escape(p.label or _fmt(p.value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def dose_axis(
    title: str,
    doses: Sequence[tuple[dt.date, str]],
    *,
    events: Sequence[tuple[dt.date, str]] = (),
    end: dt.date | None = None,
    days_label: str = "d",
) -> Markup:
    """BTA doses as marks on a time axis, the interval in days between consecutive doses
    written between them; other events (stops, SREs) as labelled flags."""
    if not doses and not events:
        return Markup("")
    days = [d for d, _ in doses] + [d for d, _ in events]
    start = min(days)
    last = max([*days, end] if end else days)
    if last == start:
        start -= dt.timedelta(days=15)
        last += dt.timedelta(days=15)
    axis_y = 70
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} 120" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<text class="chart-title" x="{LEFT}" y="14">{escape(title)}</text>',
        f'<line class="chart-axis" x1="{LEFT}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}"/>',
    ]
    ordered = sorted(doses)
    for i, (day, label) in enumerate(ordered):
        x = _x(day, start, last)
        parts.append(
            f'<rect class="dose-mark" x="{x - 3:.1f}" y="{axis_y - 14}" width="6" height="28">'
            f"<title>{day.isoformat()} {escape(label)}</title></rect>"
        )
        if i + 1 < len(ordered):
            nxt = ordered[i + 1][0]
            mid = (x + _x(nxt, start, last)) / 2
            parts.append(
                f'<text class="chart-interval" x="{mid:.1f}" y="{axis_y - 20}" '
                f'text-anchor="middle">{(nxt - day).days}{escape(days_label)}</text>'
            )
    for day, label in events:
        x = _x(day, start, last)
        parts.append(
            f'<line class="event-flag" x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 26}"/>'
            f'<text class="chart-event" x="{x:.1f}" y="{axis_y + 38}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    if end is not None and start <= end <= last:
        x = _x(end, start, last)
        parts.append(
            f'<line class="today-line" x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{axis_y + 14}"/>'
        )
    for tick in _ticks(start, last):
        parts.append(
            f'<text class="chart-tick" x="{_x(tick, start, last):.1f}" y="{axis_y + 50}" '
            f'text-anchor="middle">{tick.isoformat()}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
