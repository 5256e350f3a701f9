"""CT windows and server-side images: axial slices and a sagittal spine reformat as PNG.

Window presets: :mod:`bonepath.imaging.windows` (the whitepaper's ranges). Rendering is
numpy + Pillow: one 512 × 512 slice windows and encodes in a few milliseconds; the served
bytes are cached by :mod:`bonepath.imaging.studies`.
"""

from __future__ import annotations

import io
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

from bonepath.imaging.dicom import Volume
from bonepath.imaging.windows import DEFAULT_WINDOWS, GUIDE_RANGES, Window, parse_windows

__all__ = [
    "DEFAULT_WINDOWS",
    "GUIDE_RANGES",
    "VIEWS",
    "View",
    "Window",
    "axial_pixels",
    "encode_png",
    "parse_windows",
    "sagittal_pixels",
    "spine_column",
    "view_count",
    "windowed",
]

View = Literal["axial", "sagittal"]
VIEWS: Final[tuple[View, ...]] = ("axial", "sagittal")


def windowed(hu: npt.NDArray[np.int16], window: Window) -> npt.NDArray[np.uint8]:
    """HU → 0–255 grey (linear inside the window, clipped outside)."""
    lo = window.level - window.width / 2.0
    scale = 255.0 / window.width
    out = (hu.astype(np.float32) - np.float32(lo)) * np.float32(scale)
    np.clip(out, 0, 255, out=out)
    grey: npt.NDArray[np.uint8] = out.astype(np.uint8)
    return grey


def spine_column(volume: Volume) -> int:
    """The image column (x) of the spine's midline, for the sagittal reformat.

    Bone (> 150 HU) is counted per column over the posterior half of the body, in the middle
    40 % of the columns (the arms and the table lie outside it), smoothed over ~15 mm; the
    middle of the dense plateau around the densest column is the spine's midline. A volume
    with no bone there gives the middle column.
    """
    z, y, x = volume.shape
    x0, x1 = int(x * 0.3), int(x * 0.7)
    step = max(1, z // 64)
    sub = volume.hu[::step, :, x0:x1]
    body = sub > -300
    rows = np.flatnonzero(body.any(axis=(0, 2)))
    if rows.size == 0:
        return x // 2
    centre = int((rows[0] + rows[-1]) // 2)
    bone = (sub[:, centre:, :] > 150).sum(axis=(0, 1)).astype(np.float64)
    if not bone.any():
        return x // 2
    width = max(3, int(round(15.0 / max(volume.spacing[2], 0.1))))
    smooth = np.convolve(bone, np.ones(width) / width, mode="same")
    # the vertebra is a plateau (body, pedicles both sides, the canal between): its middle is
    # the midline, not its densest column (a pedicle)
    peak = int(np.argmax(smooth))
    high = smooth >= 0.5 * smooth[peak]
    left = peak
    while left > 0 and high[left - 1]:
        left -= 1
    right = peak
    while right < len(high) - 1 and high[right + 1]:
        right += 1
    run = smooth[left : right + 1]
    middle = float(np.sum(np.arange(left, right + 1) * run) / np.sum(run))
    return x0 + int(round(middle))


def view_count(volume: Volume, view: View) -> int:
    """How many images the view scrolls through (axial: slices; sagittal: columns)."""
    return volume.shape[0] if view == "axial" else volume.shape[2]


def axial_pixels(volume: Volume, index: int, window: Window) -> npt.NDArray[np.uint8]:
    """Axial slice ``index`` (0 = the lowest, feet end) in ``window``, as stored (anterior up,
    patient's right on the image's left for a supine head-first series)."""
    return windowed(volume.hu[index], window)


def sagittal_pixels(volume: Volume, column: int, window: Window) -> npt.NDArray[np.uint8]:
    """The sagittal plane at image column ``column``, head up, anterior on the left, resampled
    so that a millimetre is as long down as across (slices are often thicker than pixels)."""
    plane = volume.hu[::-1, :, column]  # head (highest z) first
    grey = windowed(plane, window)
    dz, dy, _ = volume.spacing
    height = max(1, int(round(grey.shape[0] * dz / dy)))
    if height == grey.shape[0]:
        return grey
    img = Image.fromarray(grey).resize((grey.shape[1], height), Image.Resampling.BILINEAR)
    out: npt.NDArray[np.uint8] = np.asarray(img)
    return out


def encode_png(grey: npt.NDArray[np.uint8]) -> bytes:
    """8-bit greyscale PNG (fast zlib level: the images are served, not archived)."""
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
