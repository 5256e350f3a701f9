"""CT window presets (standard library only: the settings read them at start-up).

The whitepaper's presets: 肺窗 WW 1500–1600 / WL −500…−600, 纵隔窗 WW 400–600 / WL 40–60,
骨窗 WW 2000–3000 / WL 500–1000. The defaults sit inside those ranges; a deployment may set its
own (``BONEPATH_IMAGING_WINDOWS``, :func:`parse_windows`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_WINDOWS", "GUIDE_RANGES", "Window", "WindowSpecError", "parse_windows"]


@dataclass(frozen=True)
class Window:
    """A display window: width and level (center) in HU."""

    name: str
    width: float
    level: float

    @property
    def label(self) -> str:
        return f"WW {self.width:g} / WL {self.level:g}"

    @property
    def is_bone(self) -> bool:
        """Inside the whitepaper's bone window (WW 2000–3000, WL 500–1000)."""
        (w_lo, w_hi), (l_lo, l_hi) = GUIDE_RANGES["bone"]
        return w_lo <= self.width <= w_hi and l_lo <= self.level <= l_hi


GUIDE_RANGES: Final[Mapping[str, tuple[tuple[float, float], tuple[float, float]]]] = {
    "lung": ((1500, 1600), (-600, -500)),
    "mediastinum": ((400, 600), (40, 60)),
    "bone": ((2000, 3000), (500, 1000)),
}
"""The whitepaper's ranges: (WW low, high), (WL low, high)."""

DEFAULT_WINDOWS: Final[tuple[Window, ...]] = (
    Window("bone", 2000, 500),
    Window("mediastinum", 400, 40),
    Window("lung", 1500, -600),
)


class WindowSpecError(ValueError):
    """A window setting that cannot be read."""


def parse_windows(spec: str) -> tuple[Window, ...]:
    """``"bone=2500/700,lung=1500/-600,mediastinum=400/40"`` (name=WW/WL, comma-separated).

    The three named presets keep the whitepaper's ranges: a value outside them is refused (a
    bone window that is no bone window would make "骨窗已阅" mean nothing). Other names
    (``soft=350/50``) are free, WW 1–5000, WL −2000…3000. A preset not named keeps its default.
    """
    chosen: dict[str, Window] = {w.name: w for w in DEFAULT_WINDOWS}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        ww, slash, wl = value.partition("/")
        name = name.strip().lower()
        if not sep or not slash or not name.isidentifier():
            raise WindowSpecError(f"{part!r}: write name=WW/WL, e.g. bone=2500/700")
        try:
            width, level = float(ww), float(wl)
        except ValueError:
            raise WindowSpecError(f"{part!r}: WW and WL are numbers in HU") from None
        if not (1 <= width <= 5000 and -2000 <= level <= 3000):
            raise WindowSpecError(f"{part!r}: WW 1–5000 and WL −2000…3000 HU")
        if name in GUIDE_RANGES:
            (w_lo, w_hi), (l_lo, l_hi) = GUIDE_RANGES[name]
            if not (w_lo <= width <= w_hi and l_lo <= level <= l_hi):
                raise WindowSpecError(
                    f"{part!r}: the {name} window is WW {w_lo:g}–{w_hi:g}, WL {l_lo:g}…{l_hi:g}"
                )
        chosen[name] = Window(name, width, level)
    return tuple(chosen.values())


