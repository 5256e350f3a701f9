"""Lytic and blastic candidate lesions inside the skeleton mask (classical; no model).

All thresholds were fixed from CT physics and the literature **before** any synthetic lesion was
inserted, and none was changed after the known-answer evaluation (bench/lesion_aid_bench.py):

- Smoothing: normalised Gaussian inside the medullary interior, σ = max(1.5 mm, ½ voxel) per
  axis, so cortex and soft tissue outside the bone do not leak into the average.
- Where: the vertebral bodies less their 2 mm cortical rim (lytic and blastic) and the rib-like
  bones (blastic only). The pelvis, sacrum, long bones, scapulae and skull are not searched yet.
- Reference: the median HU of the same kind of bone (vertebral bodies, or ribs) in the slices
  within ±30 mm, robust to one lesion of up to 30 mm.
- **Lytic** voxels: smoothed HU ≤ reference − 60 HU. 60 HU is about three times the noise of
  trabecular bone on a standard-dose body CT after that smoothing. A region whose mean is below
  −30 HU is fat (focal fatty marrow, haemangioma), not reported as lytic.
- **Blastic** voxels: smoothed HU ≥ reference + 200 HU and ≥ 300 HU (denser than any normal
  trabecular bone, which is 50–300 HU). Each region's mean HU separates it (Ulano et al., AJR
  2016;207:362-8): mean < 885 HU favours an untreated osteoblastic metastasis and the region is
  a blastic candidate; mean ≥ 885 HU favours a bone island (enostosis) and is listed apart.
- A region counts from 100 mm³ (a 5.8 mm sphere) and at least 4 voxels: one or two voxels of
  trabecular noise are not a lesion. Regions within 30 mm of metal (≥ 2500 HU: implants and their streaks) are
  listed apart as artefact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

from bonepath.imaging.aid_skeleton import Skeleton

__all__ = [
    "BLASTIC_DELTA_HU",
    "BLASTIC_MIN_HU",
    "BONE_ISLAND_MEAN_HU",
    "FAT_MEAN_HU",
    "LYTIC_DELTA_HU",
    "MIN_VOLUME_MM3",
    "Candidate",
    "find_candidates",
]

LYTIC_DELTA_HU = 60.0
FAT_MEAN_HU = -30.0
BLASTIC_DELTA_HU = 200.0
BLASTIC_MIN_HU = 300.0
BONE_ISLAND_MEAN_HU = 885.0  # Ulano et al., AJR 2016
MIN_VOLUME_MM3 = 100.0
MIN_VOXELS = 4
METAL_MARGIN_MM = 30.0
SMOOTH_MM = 1.5
REFERENCE_WINDOW_MM = 30.0

THRESHOLDS: dict[str, float] = {
    "lytic_delta_hu": LYTIC_DELTA_HU,
    "fat_mean_hu": FAT_MEAN_HU,
    "blastic_delta_hu": BLASTIC_DELTA_HU,
    "blastic_min_hu": BLASTIC_MIN_HU,
    "bone_island_mean_hu": BONE_ISLAND_MEAN_HU,
    "min_volume_mm3": MIN_VOLUME_MM3,
    "metal_margin_mm": METAL_MARGIN_MM,
    "smooth_sigma_mm": SMOOTH_MM,
}


@dataclass
class Candidate:
    """One candidate region (voxel indices are of the analysed (z, y, x) volume)."""

    kind: str  # "lytic" | "blastic"; excluded regions: "bone_island" | "fat" | "artefact"
    slice: int  # the axial slice with the region's largest cross-section
    centroid: tuple[float, float, float]
    bbox: tuple[tuple[int, int, int], tuple[int, int, int]]  # inclusive (z, y, x) corners
    volume_mm3: float
    hu: dict[str, float]
    reference_hu: float
    region: str = "other_bone"
    side: str | None = None
    note: str = ""
    mask: npt.NDArray[np.bool_] | None = field(default=None, repr=False)  # bbox-sized

    @property
    def diameter_mm(self) -> float:
        """The diameter of a sphere of the same volume."""
        return float((6.0 * self.volume_mm3 / math.pi) ** (1.0 / 3.0))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "slice": self.slice,
            "centroid_zyx": [round(c, 1) for c in self.centroid],
            "bbox_zyx": [list(self.bbox[0]), list(self.bbox[1])],
            "region": self.region,
            "side": self.side,
            "volume_mm3": round(self.volume_mm3, 1),
            "diameter_mm": round(self.diameter_mm, 1),
            "hu": {k: round(v, 1) for k, v in self.hu.items()},
            "reference_hu": round(self.reference_hu, 1),
            "contrast_hu": round(self.hu["mean"] - self.reference_hu, 1),
            "note": self.note,
        }


def _normalised_smooth(
    hu: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_], sigma: tuple[float, float, float]
) -> npt.NDArray[np.float32]:
    m = mask.astype(np.float32)
    num = ndi.gaussian_filter(hu * m, sigma, truncate=2.5)
    den = ndi.gaussian_filter(m, sigma, truncate=2.5)
    out = np.zeros(num.shape, dtype=np.float32)
    np.divide(num, den, out=out, where=den > 0.2)
    return out


def _window_reference(
    hu: npt.NDArray[np.int16], mask: npt.NDArray[np.bool_], dz: float
) -> npt.NDArray[np.float32]:
    """Per slice, the median HU of ``mask`` over the slices within ±30 mm (per-slice histograms
    of 5 HU bins, summed over the window); nan where the window holds no voxel."""
    lo, hi, step = -1000, 3000, 5
    nb = (hi - lo) // step
    nz = hu.shape[0]
    hist = np.zeros((nz, nb), dtype=np.int64)
    for z in range(nz):
        v = hu[z][mask[z]]
        if v.size:
            idx = np.clip((v.astype(np.int32) - lo) // step, 0, nb - 1)
            hist[z] = np.bincount(idx, minlength=nb)
    half = max(1, int(round(REFERENCE_WINDOW_MM / dz)))
    csum = np.cumsum(np.vstack([np.zeros((1, nb), dtype=np.int64), hist]), axis=0)
    out = np.full(nz, np.nan, dtype=np.float32)
    for z in range(nz):
        h = csum[min(nz, z + half + 1)] - csum[max(0, z - half)]
        total = int(h.sum())
        if total == 0:
            continue
        k = int(np.searchsorted(np.cumsum(h), (total + 1) // 2))
        out[z] = lo + step * (k + 0.5)
    return out


def find_candidates(
    hu: npt.NDArray[np.int16], spacing: tuple[float, float, float], skeleton: Skeleton
) -> tuple[list[Candidate], list[Candidate]]:
    """Candidates (lytic, blastic) and the regions set apart (bone island, fat, artefact).

    Searched: the vertebral bodies (less their cortical rim) for both kinds, the rib-like bones
    for blastic candidates only (a rib a few voxels thick holds no measurable low-density region).
    """
    dz, dy, dx = spacing
    voxel = dz * dy * dx
    min_vox = max(MIN_VOXELS, math.ceil(MIN_VOLUME_MM3 / voxel))
    metal_pts = np.argwhere(skeleton.metal)
    sigma = tuple(max(SMOOTH_MM / s, 0.5) for s in spacing)
    found: list[Candidate] = []
    apart: list[Candidate] = []
    searches: list[tuple[npt.NDArray[np.bool_] | None, tuple[str, ...]]] = [
        (skeleton.vb_interior, ("lytic", "blastic")),
        (skeleton.ribs, ("blastic",)),
    ]
    for where, kinds in searches:
        if where is None or not where.any():
            continue
        box = _bbox(where, 3)
        inner = where[box]
        h = hu[box]
        ref_z = _window_reference(h, inner, dz)
        ref = np.broadcast_to(ref_z[:, None, None], inner.shape)
        hf = h.astype(np.float32)
        smooth = _normalised_smooth(hf, inner, (sigma[0], sigma[1], sigma[2]))
        offset = np.array([s.start for s in box], dtype=float)
        for kind in kinds:
            if kind == "lytic":
                vmask = inner & (smooth <= ref - LYTIC_DELTA_HU)
            else:
                vmask = inner & (smooth >= ref + BLASTIC_DELTA_HU) & (smooth >= BLASTIC_MIN_HU)
            _collect(
                kind,
                vmask,
                hf,
                ref,
                offset,
                voxel,
                min_vox,
                metal_pts,
                spacing,
                skeleton,
                found,
                apart,
            )
    found.sort(key=lambda c: (c.slice, c.centroid[1], c.centroid[2]))
    apart.sort(key=lambda c: (c.slice, c.centroid[1], c.centroid[2]))
    return found, apart


def _collect(
    kind: str,
    vmask: npt.NDArray[np.bool_],
    h: npt.NDArray[np.float32],
    ref: npt.NDArray[np.float32],
    offset: npt.NDArray[np.float64],
    voxel: float,
    min_vox: int,
    metal_pts: npt.NDArray[np.intp],
    spacing: tuple[float, float, float],
    skeleton: Skeleton,
    found: list[Candidate],
    apart: list[Candidate],
) -> None:
    labels, m = ndi.label(vmask, structure=ndi.generate_binary_structure(3, 3))
    if m == 0:
        return
    counts = np.bincount(labels.ravel())
    for i, sl in enumerate(ndi.find_objects(labels), start=1):
        if sl is None or counts[i] < min_vox:
            continue
        region = labels[sl] == i
        values = h[sl][region]
        zz, yy, xx = np.nonzero(region)
        cz = zz.mean() + sl[0].start + offset[0]
        cy = yy.mean() + sl[1].start + offset[1]
        cx = xx.mean() + sl[2].start + offset[2]
        zmax = int(np.argmax(region.sum(axis=(1, 2)))) + sl[0].start + int(offset[0])
        stats = {
            "mean": float(values.mean()),
            "median": float(np.median(values)),
            "std": float(values.std()),
            "min": float(values.min()),
            "max": float(values.max()),
            "p10": float(np.percentile(values, 10)),
            "p90": float(np.percentile(values, 90)),
        }
        lo = tuple(int(s.start + o) for s, o in zip(sl, offset, strict=True))
        hi = tuple(int(s.stop - 1 + o) for s, o in zip(sl, offset, strict=True))
        cand = Candidate(
            kind=kind,
            slice=zmax,
            centroid=(float(cz), float(cy), float(cx)),
            bbox=((lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])),
            volume_mm3=float(counts[i] * voxel),
            hu=stats,
            reference_hu=float(np.median(ref[sl][region])),
            mask=region,
        )
        _locate(cand, skeleton, spacing)
        if metal_pts.size and _near_metal(cand.centroid, metal_pts, spacing):
            cand.kind, cand.note = "artefact", "metal_within_30mm"
            apart.append(cand)
        elif kind == "lytic" and stats["mean"] < FAT_MEAN_HU:
            cand.kind, cand.note = "fat", "mean_below_-30HU_fat"
            apart.append(cand)
        elif kind == "blastic" and stats["mean"] >= BONE_ISLAND_MEAN_HU:
            cand.kind, cand.note = "bone_island", "mean_at_least_885HU_ulano2016"
            apart.append(cand)
        else:
            if kind == "blastic":
                cand.note = "mean_below_885HU_ulano2016"
            found.append(cand)


def _bbox(mask: npt.NDArray[np.bool_], margin: int) -> tuple[slice, slice, slice]:
    out: list[slice] = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        nz = np.flatnonzero(mask.any(axis=other))
        out.append(
            slice(max(0, int(nz[0]) - margin), min(mask.shape[axis], int(nz[-1]) + 1 + margin))
        )
    return out[0], out[1], out[2]


def _near_metal(
    centroid: tuple[float, float, float],
    metal_pts: npt.NDArray[np.intp],
    spacing: tuple[float, float, float],
) -> bool:
    d = (metal_pts - np.asarray(centroid)) * np.asarray(spacing)
    return bool((np.einsum("ij,ij->i", d, d) <= METAL_MARGIN_MM**2).any())


def _locate(cand: Candidate, skeleton: Skeleton, spacing: tuple[float, float, float]) -> None:
    """Region (vertebral body / posterior elements / rib or small bone / sternum) and side."""
    _, dy, dx = spacing
    z = cand.slice
    cz, cy, cx = cand.centroid
    zi, yi, xi = int(round(cz)), int(round(cy)), int(round(cx))
    zi = min(max(zi, 0), skeleton.bone.shape[0] - 1)
    line = skeleton.centre_line[z]
    body_cx = skeleton.body_centre_x[z]
    mid_x = line[1] if not np.isnan(line[1]) else body_cx
    if not np.isnan(mid_x):
        off = (cx - mid_x) * dx
        if abs(off) >= 10.0:
            cand.side = "left" if off > 0 else "right"  # x runs from the patient's right to left
    vb = skeleton.vertebral_body
    near_vb = vb[zi, max(0, yi - 2) : yi + 3, max(0, xi - 2) : xi + 3].any()
    if near_vb:
        cand.region, cand.side = "vertebral_body", None
        return
    if (
        not np.isnan(line[0])
        and abs(cx - line[1]) * dx <= 25.0
        and 0 <= (cy - line[0]) * dy <= 70.0
    ):
        cand.region = "vertebral_posterior_elements"
        return
    if (
        not np.isnan(mid_x)
        and abs(cx - mid_x) * dx <= 25.0
        and not np.isnan(line[0])
        and (line[0] - cy) * dy > 60.0
    ):
        cand.region, cand.side = "sternum", None
        return
    labels, _ = ndi.label(skeleton.bone[zi])
    k = labels[min(max(yi, 0), labels.shape[0] - 1), min(max(xi, 0), labels.shape[1] - 1)]
    if k:
        area = float((labels == k).sum() * dy * dx)
        cand.region = "rib_or_small_bone" if area <= 600.0 else "other_bone"
