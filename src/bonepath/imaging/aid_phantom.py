"""Synthetic lesions of known position, size and contrast, for the known-answer evaluation.

A lesion is a sphere with partial-volume edges (each voxel's fraction inside the sphere from
3 × 3 × 3 sub-samples) whose HU shift (negative: lytic, positive: blastic) is **added** to the
real voxels, so the bone's own texture and noise stay. It changes only voxels inside ``within``
(the reference mask of the bone it is put into, less the cortex for a vertebra), so a vertebral
lesion is medullary with the cortex intact; a rib lesion takes the rib's whole cross-section.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["InsertedLesion", "insert_lesion"]


@dataclass(frozen=True)
class InsertedLesion:
    kind: str  # "lytic" | "blastic"
    bone: str  # e.g. "vertebrae_L1", "rib_left_9"
    centre: tuple[int, int, int]  # voxel (z, y, x)
    diameter_mm: float
    delta_hu: float
    truth: npt.NDArray[np.bool_]  # full-size mask: voxels at least half inside the sphere


def insert_lesion(
    hu: npt.NDArray[np.int16],
    spacing: tuple[float, float, float],
    centre: tuple[int, int, int],
    diameter_mm: float,
    delta_hu: float,
    within: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """Add ``delta_hu`` × (fraction inside the sphere) to ``hu`` in place; returns the truth."""
    r = diameter_mm / 2.0
    half = [int(np.ceil(r / s)) + 1 for s in spacing]
    lo = [max(0, c - h) for c, h in zip(centre, half, strict=True)]
    hi = [min(n, c + h + 1) for c, h, n in zip(centre, half, hu.shape, strict=True)]
    grids = [np.arange(a, b) for a, b in zip(lo, hi, strict=True)]
    sub = (np.arange(3) - 1) / 3.0
    frac = np.zeros(tuple(b - a for a, b in zip(lo, hi, strict=True)), dtype=np.float32)
    for oz in sub:
        for oy in sub:
            for ox in sub:
                dz = (grids[0] + oz - centre[0]) * spacing[0]
                dy = (grids[1] + oy - centre[1]) * spacing[1]
                dx = (grids[2] + ox - centre[2]) * spacing[2]
                d2 = dz[:, None, None] ** 2 + dy[None, :, None] ** 2 + dx[None, None, :] ** 2
                frac += (d2 <= r * r).astype(np.float32)
    frac /= 27.0
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    inside = within[box]
    region = hu[box].astype(np.float32) + frac * delta_hu * inside
    hu[box] = np.clip(np.rint(region), -1024, 3071).astype(np.int16)
    truth = np.zeros(hu.shape, dtype=bool)
    truth[box] = (frac >= 0.5) & inside
    return truth


# TotalSegmentator (v2 class map) ids of the bones in shared/data/ct-totalsegmentator's
# example_seg.nii.gz, checked against the anatomy (L2 lowest, left ribs on the patient's left)
TS_BONE_IDS: tuple[tuple[int, int], ...] = ((25, 50), (69, 78), (91, 116))
TS_VERTEBRAE: dict[int, str] = {30: "vertebrae_L2", 31: "vertebrae_L1", 32: "vertebrae_T12"}
TS_RIBS: dict[int, str] = {
    **{97 + k: f"rib_left_{k + 6}" for k in range(1, 7)},
    **{109 + k: f"rib_right_{k + 6}" for k in range(1, 7)},
}


def ts_bone_mask(labels: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
    """All bone labels of a TotalSegmentator v2 multi-label mask (not costal cartilage, 117)."""
    out = np.zeros(labels.shape, dtype=bool)
    for lo, hi in TS_BONE_IDS:
        out |= (labels >= lo) & (labels <= hi)
    return out


def deepest_point(
    mask: npt.NDArray[np.bool_], spacing: tuple[float, float, float]
) -> tuple[int, int, int]:
    """The voxel of ``mask`` farthest from its surface (in mm): the middle of a vertebral body."""
    from scipy import ndimage as ndi

    dist = ndi.distance_transform_edt(np.pad(mask, 1), sampling=spacing)[1:-1, 1:-1, 1:-1]
    z, y, x = np.unravel_index(int(np.argmax(dist)), mask.shape)
    return int(z), int(y), int(x)


def dice(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total
