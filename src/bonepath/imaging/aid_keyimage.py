"""Key images of the candidate-lesion aid: the axial slice in the bone window, outlined."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import ndimage as ndi

__all__ = ["BONE_WINDOW", "key_image_png"]

# level, width: the whitepaper's bone window (WL 500–1000, WW 2000–3000)
BONE_WINDOW = (500.0, 2000.0)
COLOURS = {"lytic": (0, 200, 255), "blastic": (255, 140, 0)}


def key_image_png(
    hu_slice: npt.NDArray[np.int16],
    outline: npt.NDArray[np.bool_],
    kind: str,
    spacing_yx: tuple[float, float] = (1.0, 1.0),
    window: tuple[float, float] = BONE_WINDOW,
) -> bytes:
    """PNG of one axial slice (bone window) with the candidate's outline drawn in colour."""
    level, width = window
    grey = np.clip((hu_slice.astype(np.float32) - (level - width / 2)) / width, 0, 1)
    g = (grey * 255).astype(np.uint8)
    rgb = np.stack([g, g, g], axis=-1)
    edge = outline & ~ndi.binary_erosion(outline)
    edge = ndi.binary_dilation(edge) & ~outline if edge.sum() < 8 else edge
    rgb[ndi.binary_dilation(edge)] = COLOURS.get(kind, (255, 0, 0))
    image = Image.fromarray(rgb)
    dy, dx = spacing_yx
    if abs(dy - dx) > 1e-3:  # square pixels on screen
        image = image.resize((image.width, max(1, round(image.height * dy / dx))))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
