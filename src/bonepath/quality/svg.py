"""Small server-side SVG charts: every label is SVG ``<text>`` (selectable, searchable, printed
as text in the PDF), no script, no external font or image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

FONT: Final = "'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','Microsoft YaHei',sans-serif"
INK: Final = "#1f2933"
GRID: Final = "#d9dee3"
BAR: Final = "#2f6f9f"
SMALL_BAR: Final = "#9fb8cc"
BASELINE: Final = "#c0392b"
PALETTE: Final = ("#2f6f9f", "#d9822b", "#3b8f5a", "#8e44ad", "#7f8c8d")


def _t(x: float, y: float, text: str, *, size: int = 11, anchor: str = "start", weight: str = "normal", fill: str = INK) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{fill}">{escape(text)}</text>'
    )


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="{FONT}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    rate: float | None
    denominator: int
    small: bool
    baseline: float | None = None


def rate_bars(bars: Sequence[Bar], title: str, *, baseline: float | None = None, small_label: str = "n<20") -> str:
    """Horizontal bars of rates (0–100 %), one per stratum, with ``n`` and the baseline(s).

    Small strata are drawn pale and marked; a missing rate is written as "—".
    """
    label_w, bar_w, right = 170, 360, 120
    row_h, top = 20, 34
    width = label_w + bar_w + right
    height = top + row_h * max(len(bars), 1) + 26
    body = [_t(4, 16, title, size=13, weight="bold")]
    x0 = label_w
    for pct in (0, 25, 50, 75, 100):
        x = x0 + bar_w * pct / 100
        body.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 22}" stroke="{GRID}"/>')
        body.append(_t(x, height - 8, f"{pct}%", size=9, anchor="middle"))
    if baseline is not None:
        x = x0 + bar_w * baseline
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 10}" x2="{x:.1f}" y2="{height - 22}" '
            f'stroke="{BASELINE}" stroke-dasharray="4 3" stroke-width="1.5"/>'
        )
        body.append(_t(x + 3, top - 12, f"WP {baseline:.0%}", size=9, fill=BASELINE))
    for i, bar in enumerate(bars):
        y = top + i * row_h
        body.append(_t(label_w - 6, y + 13, bar.label, anchor="end"))
        if bar.rate is not None:
            w = bar_w * bar.rate
            color = SMALL_BAR if bar.small else BAR
            body.append(f'<rect x="{x0}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{color}"/>')
            text = f"{bar.rate:.1%}  n={bar.denominator}"
        else:
            text = f"—  n={bar.denominator}"
        if bar.small:
            text += f"  ({small_label})"
        body.append(_t(x0 + bar_w + 6, y + 13, text, size=10))
        if bar.baseline is not None:
            bx = x0 + bar_w * bar.baseline
            body.append(
                f'<line x1="{bx:.1f}" y1="{y + 1}" x2="{bx:.1f}" y2="{y + row_h - 1}" '
                f'stroke="{BASELINE}" stroke-width="2"/>'
            )
    return _svg(width, height, body, title)


@dataclass(frozen=True, slots=True)
class Curve:
    """One Kaplan-Meier curve: step times (days), survival, CI bounds."""

    label: str
    times: Sequence[float]
    survival: Sequence[float]
    lower: Sequence[float]
    upper: Sequence[float]


def km_chart(
    curves: Sequence[Curve],
    title: str,
    *,
    at_risk_times: Sequence[float],
    at_risk: Sequence[Sequence[int]],
    x_label: str,
    y_label: str,
    at_risk_label: str,
    max_days: float,
) -> str:
    """Kaplan-Meier step curves with shaded confidence bands and a numbers-at-risk table."""
    left, plot_w, plot_h, top = 170, 460, 220, 30
    risk_rows = len(curves)
    width = left + plot_w + 30
    height = top + plot_h + 46 + 16 * (risk_rows + 1) + 10
    body = [_t(4, 16, title, size=13, weight="bold")]

    def sx(t: float) -> float:
        return left + plot_w * min(t, max_days) / max_days

    def sy(s: float) -> float:
        return top + plot_h * (1 - s)

    for frac in (0, 0.25, 0.5, 0.75, 1):
        y = sy(frac)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_t(left - 4, y + 4, f"{frac:.2f}", size=9, anchor="end"))
    for t in at_risk_times:
        x = sx(t)
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{GRID}"/>')
        body.append(_t(x, top + plot_h + 14, f"{t:g}", size=9, anchor="middle"))
    body.append(_t(left + plot_w / 2, top + plot_h + 30, x_label, size=10, anchor="middle"))
    body.append(
        f'<text x="14" y="{top + plot_h / 2:.1f}" font-size="10" fill="{INK}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    for i, curve in enumerate(curves):
        color = PALETTE[i % len(PALETTE)]
        pts = [(t, s) for t, s in zip(curve.times, curve.survival, strict=True) if t <= max_days]
        lows = [(t, s) for t, s in zip(curve.times, curve.lower, strict=True) if t <= max_days]
        ups = [(t, s) for t, s in zip(curve.times, curve.upper, strict=True) if t <= max_days]
        if not pts:
            continue
        band_top = _steps(ups, sx, sy, max_days)
        band_bottom = _steps(lows, sx, sy, max_days)
        polygon = band_top + list(reversed(band_bottom))
        body.append(
            f'<polygon points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in polygon)}" '
            f'fill="{color}" fill-opacity="0.15" stroke="none"/>'
        )
        line = _steps(pts, sx, sy, max_days)
        body.append(
            f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in line)}" fill="none" '
            f'stroke="{color}" stroke-width="1.8"/>'
        )
        body.append(
            f'<rect x="{left + plot_w - 150}" y="{top + 8 + i * 15}" width="10" height="10" fill="{color}"/>'
        )
        body.append(_t(left + plot_w - 136, top + 17 + i * 15, curve.label, size=10))
    y0 = top + plot_h + 50
    body.append(_t(4, y0, at_risk_label, size=10, weight="bold"))
    for i, curve in enumerate(curves):
        y = y0 + 16 * (i + 1)
        body.append(_t(left - 22, y, curve.label, size=10, anchor="end", fill=PALETTE[i % len(PALETTE)]))
        for t, n in zip(at_risk_times, at_risk[i], strict=True):
            body.append(_t(sx(t), y, str(n), size=10, anchor="middle"))
    return _svg(width, int(height), body, title)


def _steps(
    points: Sequence[tuple[float, float]],
    fx: Callable[[float], float],
    fy: Callable[[float], float],
    max_days: float,
) -> list[tuple[float, float]]:
    """Points of a right-continuous step function, extended to ``max_days``."""
    out: list[tuple[float, float]] = []
    prev: float | None = None
    for t, s in points:
        if prev is not None:
            out.append((fx(t), fy(prev)))
        out.append((fx(t), fy(s)))
        prev = s
    if prev is not None:
        out.append((fx(max_days), fy(prev)))
    return out
