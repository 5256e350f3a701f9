"""Skeleton mask, vertebral bodies and the spine's centre line from a CT (classical, no model).

The HU thresholds come from CT physics and the literature and were fixed before any synthetic
lesion was inserted (bench/README.md says how); none was tuned on the test lesions.

Steps (arrays are (z, y, x): z inferior→superior, y anterior→posterior, x patient right→left):

1. **Body and table.** Air is −1000 HU, fat −100, soft tissue +40; −400 HU separates the body
   (and the table) from air. The body is the largest 3-D connected component after an in-plane
   opening (radius 3 mm) that cuts thin pad/table contacts; the table (a separate component) and
   everything outside the body are dropped. Computed on a 2× in-plane subsampled grid.
2. **Skeleton.** Hysteresis threshold: voxels ≥ 100 HU (above all unenhanced soft tissue, blood
   and organs, ≤ 70 HU) connected to a seed ≥ 300 HU (mineralised bone); 3-D components under
   200 mm³ (vascular calcifications, specks) dropped; an axial closing (3 mm square) bridges
   cortical gaps. Osteopenic marrow is often 50–110 HU, so the marrow is added as the axial
   **holes** of the mask (≤ 3000 mm²; larger ones are rings of bones such as the pelvic inlet),
   except the spinal canal: a hole behind the vertebral body within 20 mm of the centre line.
3. **Vertebral bodies.** Per axial slice, the bone within 40 mm of the body's left-right centre
   and behind its front-back centre, small holes filled, opened by a 7 mm disk (which removes the
   neural arch, the processes and the rib heads, all thinner than 14 mm); its largest part with
   holes filled. A second pass, with the canal known, fills every enclosed hole, so a body whose
   marrow is replaced by a large low-density region keeps its outline. The centroids,
   median-filtered over ±7.5 mm, are the spine's centre line; runs of slices with a body are
   listed as vertebrae. Levels are not named yet (``Vertebra.level`` is None): see below.
4. **Where candidates are looked for** (:mod:`bonepath.imaging.aid_candidates`): the vertebral
   bodies less their cortex (2 mm, at least one voxel, in-plane) and endplates (one slice), and
   rib-like bone (axial cross-sections of 10–600 mm², 25 mm or more beside the centre line, not
   touching a vertebral body).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

__all__ = [
    "BODY_HU",
    "BONE_LOW_HU",
    "BONE_SEED_HU",
    "METAL_HU",
    "Skeleton",
    "Vertebra",
    "segment_skeleton",
]

BODY_HU = -400
BONE_LOW_HU = 100
BONE_SEED_HU = 300
METAL_HU = 2500  # above cortical bone (≤ ~2000 HU): implants, dense contrast, metal artefact
MIN_BONE_COMPONENT_MM3 = 200.0
CORTEX_MM = 2.0
SPINE_BAND_MM = 40.0
RIB_NEAR_MM = (25.0, 80.0)
RIB_MAX_AREA_MM2 = 600.0
MAX_HOLE_MM2 = 3000.0  # larger than a vertebral body or femoral head: a ring of bones (pelvis)
MIN_VB_MM2 = 300.0  # smaller than any adult vertebral body's cross-section
SMALL_HOLE_MM2 = 100.0
VB_OPEN_MM = 7.0
CANAL_HALF_WIDTH_MM = 20.0
GAP_MM = 3.0  # cortical gaps bridged before the marrow is filled (basivertebral foramen)

Mask = npt.NDArray[np.bool_]
Hu = npt.NDArray[np.int16]


@dataclass(frozen=True)
class Vertebra:
    """One vertebra found along the centre line (slices z0..z1 inclusive)."""

    index: int  # 0 = lowest in the volume
    z0: int
    z1: int
    centre_yx: tuple[float, float]
    has_ribs: bool
    level: str | None  # e.g. "T12", "L1"; None without an anchor; always approximate


@dataclass
class Skeleton:
    """What :func:`segment_skeleton` found; boolean masks are full-size (z, y, x)."""

    body: Mask
    bone: Mask  # skeleton: mineralised bone plus the enclosed marrow
    interior: Mask  # where candidates are looked for: vb_interior | ribs
    metal: Mask
    vertebral_body: Mask
    centre_line: npt.NDArray[np.float64]  # (z, 2): y, x of the vertebral body per slice (nan)
    body_centre_x: npt.NDArray[np.float64]  # (z,) left-right centre of the body per slice (nan)
    vertebrae: list[Vertebra] = field(default_factory=list)
    vb_interior: Mask | None = None  # vertebral bodies less their 2 mm cortical rim
    ribs: Mask | None = None  # rib-like bone: thin cross-sections away from the spine


def _radius_vox(mm: float, spacing: float, minimum: int = 0) -> int:
    return max(minimum, int(round(mm / spacing)))


def _disk(ry: int, rx: int) -> Mask:
    yy, xx = np.ogrid[-ry : ry + 1, -rx : rx + 1]
    return np.asarray(
        (yy / max(ry, 1e-9)) ** 2 + (xx / max(rx, 1e-9)) ** 2 <= 1.0 + 1e-9, dtype=bool
    )


def _plane_structure(axis: int) -> Mask:
    """4-connectivity within planes normal to ``axis`` and no connection across them."""
    s = np.zeros((3, 3, 3), dtype=bool)
    idx: list[slice | int] = [slice(None)] * 3
    idx[axis] = 1
    s[tuple(idx)] = ndi.generate_binary_structure(2, 1)
    return s


def _holes(mask: Mask, axis: int) -> Mask:
    """Background regions of ``mask`` that touch no edge of their plane (normal to ``axis``)."""
    labels, n = ndi.label(~mask, structure=_plane_structure(axis))
    if n == 0:
        return np.zeros_like(mask)
    edge = np.zeros(n + 1, dtype=bool)
    other = [a for a in range(3) if a != axis]
    for a in other:
        for end in (0, -1):
            idx: list[slice | int] = [slice(None)] * 3
            idx[a] = end
            edge[np.unique(labels[tuple(idx)])] = True
    edge[0] = True
    return np.asarray(~edge[labels], dtype=bool)


def _bbox(mask: Mask, margin: tuple[int, int, int], shape: tuple[int, ...]) -> tuple[slice, ...]:
    out: list[slice] = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        nz = np.flatnonzero(mask.any(axis=other))
        if nz.size == 0:
            return (slice(0, 0),) * 3
        out.append(
            slice(
                max(0, int(nz[0]) - margin[axis]), min(shape[axis], int(nz[-1]) + 1 + margin[axis])
            )
        )
    return tuple(out)


def body_mask(hu: Hu, spacing: tuple[float, float, float]) -> Mask:
    """The patient's body without the table (largest component of > −400 HU, holes filled)."""
    _, dy, dx = spacing
    step = 2 if min(hu.shape[1:]) >= 256 else 1
    small = hu[:, ::step, ::step] > BODY_HU
    r = _radius_vox(3.0, dy * step, 1), _radius_vox(3.0, dx * step, 1)
    small = ndi.binary_opening(small, structure=_disk(*r)[None, :, :])
    labels, n = ndi.label(small)
    if n == 0:
        return np.zeros(hu.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    body_small = labels == int(np.argmax(sizes))
    body_small |= _holes(body_small, 0)
    if step == 1:
        return np.asarray(body_small, dtype=bool)
    full = np.repeat(np.repeat(body_small, step, axis=1), step, axis=2)
    return np.ascontiguousarray(full[:, : hu.shape[1], : hu.shape[2]])


def _hysteresis(hu: Hu, low: int, high: int) -> Mask:
    lowm = hu >= low
    labels, n = ndi.label(lowm)
    if n == 0:
        return lowm
    seeded = np.zeros(n + 1, dtype=bool)
    seeded[np.unique(labels[hu >= high])] = True
    seeded[0] = False
    return np.asarray(seeded[labels], dtype=bool)


def _close_in_plane(mask: Mask, spacing: tuple[float, float, float]) -> Mask:
    """Axial closing by a square of half-side ``GAP_MM``: bridges the foramina and the
    partial-volume gaps of the cortex before the marrow is filled."""
    r = max(_radius_vox(GAP_MM, spacing[1], 1), _radius_vox(GAP_MM, spacing[2], 1))
    padded = np.pad(mask, ((0, 0), (r, r), (r, r)))
    square = np.zeros((3, 3, 3), dtype=bool)
    square[1] = True
    closed = ndi.binary_closing(padded, structure=square, iterations=r)
    return np.asarray(closed[:, r : r + mask.shape[1], r : r + mask.shape[2]] | mask)


def _open_disk(mask: Mask, radius_mm: float, dy: float, dx: float) -> Mask:
    """Exact 2-D opening by a disk of ``radius_mm`` through two distance transforms."""
    padded = np.pad(mask, 1)
    core = ndi.distance_transform_edt(padded, sampling=(dy, dx)) > radius_mm
    if not core.any():
        return np.zeros_like(mask)
    opened = ndi.distance_transform_edt(~core, sampling=(dy, dx)) <= radius_mm
    return np.asarray(opened[1:-1, 1:-1] & mask)


def _drop_small(mask: Mask, min_voxels: int) -> Mask:
    labels, n = ndi.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_voxels
    keep[0] = False
    return np.asarray(keep[labels], dtype=bool)


def _plane_label_stats(
    labels: npt.NDArray[np.int32], n: int, dy: float, dx: float
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]
]:
    """Area (mm²), centroid y, x and slice of each label of a per-plane (axial) labelling.

    With no connection across planes, ``ndi.label`` numbers slice z's components before slice
    z+1's, so each slice holds one contiguous range of labels: counted slice by slice."""
    counts = np.zeros(n + 1)
    ysum = np.zeros(n + 1)
    xsum = np.zeros(n + 1)
    zlab = np.zeros(n + 1, dtype=np.int64)
    ny, nx = labels.shape[1:]
    yy = np.broadcast_to(np.arange(ny, dtype=np.float64)[:, None], (ny, nx)).ravel()
    xx = np.broadcast_to(np.arange(nx, dtype=np.float64)[None, :], (ny, nx)).ravel()
    for z in range(labels.shape[0]):
        lab = labels[z].ravel()
        top = int(lab.max())
        if top == 0:
            continue
        low = int(lab[lab > 0].min())
        local = np.where(lab > 0, lab - low + 1, 0)
        m = top - low + 2
        c = np.bincount(local, minlength=m)
        counts[low : top + 1] = c[1:]
        ysum[low : top + 1] = np.bincount(local, weights=yy, minlength=m)[1:]
        xsum[low : top + 1] = np.bincount(local, weights=xx, minlength=m)[1:]
        zlab[low : top + 1] = z
    with np.errstate(invalid="ignore", divide="ignore"):
        cy = ysum / counts
        cx = xsum / counts
    return counts * dy * dx, cy, cx, zlab


def _hole_table(
    thr: Mask, spacing: tuple[float, float, float]
) -> tuple[
    npt.NDArray[np.int32],
    npt.NDArray[np.bool_],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
]:
    """Axial holes of ``thr``: labels, usable flag, area mm², centroid y, x, slice per label."""
    _, dy, dx = spacing
    labels, n = ndi.label(~thr, structure=_plane_structure(0), output=np.int32)
    edge = np.zeros(n + 1, dtype=bool)
    for idx in (
        (slice(None), 0, slice(None)),
        (slice(None), -1, slice(None)),
        (slice(None), slice(None), 0),
        (slice(None), slice(None), -1),
    ):
        edge[np.unique(labels[idx])] = True
    edge[0] = True
    area, cy, cx, zlab = _plane_label_stats(labels, n, dy, dx)
    usable = ~edge & (area <= MAX_HOLE_MM2)
    return labels, usable, area, cy, cx, zlab


def segment_skeleton(hu: Hu, spacing: tuple[float, float, float]) -> Skeleton:
    """Body, skeleton, interior, metal, vertebral bodies and levels (module docstring)."""
    dz, dy, dx = spacing
    shape = hu.shape
    body = body_mask(hu, spacing)
    metal = (hu >= METAL_HU) & body

    box = _bbox(body, (1, 2, 2), shape)
    sub = hu[box]
    voxel_mm3 = dz * dy * dx
    thr = _hysteresis(sub, BONE_LOW_HU, BONE_SEED_HU) & body[box]
    thr = _drop_small(thr, max(2, math.ceil(MIN_BONE_COMPONENT_MM3 / voxel_mm3)))
    if not thr.any():  # no body, or no bone in it: nothing to look at
        empty = np.zeros(shape, dtype=bool)
        return Skeleton(
            body=body,
            bone=empty,
            interior=empty,
            metal=metal,
            vertebral_body=empty,
            centre_line=np.full((shape[0], 2), np.nan),
            body_centre_x=np.full(shape[0], np.nan),
            vb_interior=empty,
            ribs=empty,
        )
    box2 = _bbox(thr, (1, 1, 1), thr.shape)
    t2 = _close_in_plane(np.ascontiguousarray(thr[box2]), spacing)
    labels, usable, area, cy, cx, zlab = _hole_table(t2, spacing)
    body2 = body[box][box2]
    vb2, centre2, body_cx2 = _spine_centre(t2, labels, usable, area, body2, spacing)
    # the spinal canal: a hole behind the vertebral body near the centre line
    canal = _canal_labels(labels, usable, cy, cx, zlab, vb2, centre2, spacing)
    usable &= ~canal
    # second pass: with the canal known, every enclosed hole is filled, so a vertebral body whose
    # marrow is replaced by a large low-density region keeps its outline
    vb2, centre2, body_cx2 = _spine_centre(t2, labels, usable, area, body2, spacing, MAX_HOLE_MM2)
    holes = usable[labels]
    bone2 = t2 | holes
    vb2 = vb2 | (ndi.binary_dilation(vb2, structure=_plane_structure(0)) & t2)

    def full(part: Mask) -> Mask:
        out = np.zeros(shape, dtype=bool)
        inner = np.zeros(thr.shape, dtype=bool)
        inner[box2] = part
        out[box] = inner
        return out

    offset_y = box[1].start + box2[1].start
    offset_x = box[2].start + box2[2].start
    offset_z = box[0].start + box2[0].start
    centre = np.full((shape[0], 2), np.nan)
    centre[offset_z : offset_z + centre2.shape[0]] = centre2 + np.array([offset_y, offset_x])
    body_cx = np.full(shape[0], np.nan)
    body_cx[offset_z : offset_z + body_cx2.shape[0]] = body_cx2 + offset_x
    bone = full(bone2)
    vb = full(vb2)
    vertebrae = _vertebrae(bone, vb, centre, spacing)
    vbi2 = _vb_interior(vb2, spacing)
    ribs2 = _rib_like(bone2, vb2, centre2, spacing)
    return Skeleton(
        body=body,
        bone=bone,
        interior=full(vbi2 | ribs2),
        metal=metal,
        vertebral_body=vb,
        centre_line=centre,
        body_centre_x=body_cx,
        vertebrae=vertebrae,
        vb_interior=full(vbi2),
        ribs=full(ribs2),
    )


def _vb_interior(vb: Mask, spacing: tuple[float, float, float]) -> Mask:
    """The vertebral bodies less their cortex (in-plane: farther than 2 mm, and at least one
    voxel, from the outline) and their endplates (one slice up and down)."""
    out = np.zeros_like(vb)
    if not vb.any():
        return out
    _, dy, dx = spacing
    box = _bbox(vb, (1, 1, 1), vb.shape)
    sub = vb[box]
    limit = max(CORTEX_MM, dy, dx)
    inner = np.zeros_like(sub)
    for z in range(sub.shape[0]):
        if sub[z].any():
            inner[z] = (
                ndi.distance_transform_edt(np.pad(sub[z], 1), sampling=(dy, dx))[1:-1, 1:-1]
                > limit + 1e-6
            )
    inner[1:-1] &= sub[:-2] & sub[2:]
    inner[0] = False
    inner[-1] = False
    out[box] = inner
    return out


def _rib_like(
    bone: Mask, vb: Mask, centre: npt.NDArray[np.float64], spacing: tuple[float, float, float]
) -> Mask:
    """Axial bone cross-sections of 10–600 mm², 25 mm or more beside the spine's centre line and
    not touching a vertebral body: ribs (and, unavoidably, thin parts of other bones)."""
    _, dy, dx = spacing
    r = max(_radius_vox(5.0, dy, 1), _radius_vox(5.0, dx, 1))
    cand = bone.copy()
    if vb.any():
        box = _bbox(vb, (0, r + 1, r + 1), vb.shape)
        square = np.zeros((3, 3, 3), dtype=bool)
        square[1] = True
        cand[box] &= ~ndi.binary_dilation(vb[box], structure=square, iterations=r)
    labels, n = ndi.label(cand, structure=_plane_structure(0), output=np.int32)
    if n == 0:
        return np.zeros_like(bone)
    area, _, cx, zlab = _plane_label_stats(labels, n, dy, dx)
    mid = centre[zlab, 1]
    ok = (area >= 10.0) & (area <= RIB_MAX_AREA_MM2) & ~np.isnan(mid)
    ok &= np.abs(cx - np.nan_to_num(mid)) * dx >= RIB_NEAR_MM[0]
    ok[0] = False
    return np.asarray(ok[labels], dtype=bool)


def _spine_centre(
    thr: Mask,
    labels: npt.NDArray[np.int32],
    usable: npt.NDArray[np.bool_],
    area: npt.NDArray[np.float64],
    body: Mask,
    spacing: tuple[float, float, float],
    max_hole_mm2: float = SMALL_HOLE_MM2,
) -> tuple[Mask, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per slice the vertebral body: the bone near the midline, behind the body's centre, with
    holes up to ``max_hole_mm2`` filled (first pass 100 mm²: not the canal), opened by a 7 mm disk (which removes the neural arch, the
    processes and the rib heads, all thinner than 14 mm), its largest part, holes then filled."""
    dz, dy, dx = spacing
    nz, ny, nx = thr.shape
    vb = np.zeros(thr.shape, dtype=bool)
    raw = np.full((nz, 2), np.nan)
    body_cx = np.full(nz, np.nan)
    band = int(round(SPINE_BAND_MM / dx))
    small = usable & (area <= max_hole_mm2)
    for z in range(nz):
        b = body[z]
        if not b.any():
            continue
        cols = np.flatnonzero(b.any(axis=0))
        rows = np.flatnonzero(b.any(axis=1))
        bcx = int(round(0.5 * (cols[0] + cols[-1])))
        bcy = int(round(0.5 * (rows[0] + rows[-1])))
        body_cx[z] = bcx
        x0, x1 = max(0, bcx - band), min(nx, bcx + band + 1)
        sl = (slice(bcy, ny), slice(x0, x1))
        solid = thr[z][sl] | small[labels[z][sl]]
        if not solid.any():
            continue
        opened = _open_disk(solid, VB_OPEN_MM, dy, dx)
        lab, n = ndi.label(opened)
        if n == 0:
            continue
        sizes = np.bincount(lab.ravel())
        sizes[0] = 0
        k = int(np.argmax(sizes))
        if sizes[k] * dy * dx < MIN_VB_MM2:
            continue
        region = ndi.binary_fill_holes(lab == k)
        vb[z][sl] = region
        yy, xx = np.nonzero(region)
        raw[z] = (yy.mean() + bcy, xx.mean() + x0)
    centre = raw.copy()
    half = max(1, int(round(7.5 / dz)))
    for z in range(nz):
        lo, hi = max(0, z - half), min(nz, z + half + 1)
        w = raw[lo:hi]
        ok = ~np.isnan(w[:, 0])
        if ok.any():
            centre[z] = np.median(w[ok], axis=0)
    return vb, centre, body_cx


def _canal_labels(
    labels: npt.NDArray[np.int32],
    usable: npt.NDArray[np.bool_],
    cy: npt.NDArray[np.float64],
    cx: npt.NDArray[np.float64],
    zlab: npt.NDArray[np.int64],
    vb: Mask,
    centre: npt.NDArray[np.float64],
    spacing: tuple[float, float, float],
) -> npt.NDArray[np.bool_]:
    """Holes that are the spinal canal: behind the vertebral body, within 20 mm of the midline."""
    _, dy, dx = spacing
    nz = labels.shape[0]
    # the posterior edge of the vertebral body per slice, median over ±7.5 mm
    back = np.full(nz, np.nan)
    for z in range(nz):
        rows = np.flatnonzero(vb[z].any(axis=1))
        if rows.size:
            back[z] = rows[-1]
    half = max(1, int(round(7.5 / spacing[0])))
    edge = back.copy()
    for z in range(nz):
        w = back[max(0, z - half) : z + half + 1]
        ok = ~np.isnan(w)
        if ok.any():
            edge[z] = np.median(w[ok])
    canal = np.zeros_like(usable)
    ids = np.flatnonzero(usable)
    if ids.size == 0:
        return canal
    zi = zlab[ids]
    c = centre[zi]
    e = edge[zi]
    near = np.abs(cx[ids] - c[:, 1]) <= CANAL_HALF_WIDTH_MM / dx
    behind = cy[ids] > np.where(np.isnan(e), c[:, 0] + 15.0 / dy, e)
    canal[ids[near & behind & ~np.isnan(c[:, 0])]] = True
    return canal


def _vertebrae(
    bone: Mask,
    vb: Mask,
    centre: npt.NDArray[np.float64],
    spacing: tuple[float, float, float],
) -> list[Vertebra]:
    dz, dy, dx = spacing
    area = vb.sum(axis=(1, 2)).astype(np.float64) * dy * dx
    present = area > 0
    if not present.any():
        return []
    typical = float(np.median(area[present]))
    runs_mask = area >= 0.3 * typical
    labels, n = ndi.label(runs_mask)
    runs: list[tuple[int, int]] = []
    for k in range(1, n + 1):
        zz = np.flatnonzero(labels == k)
        if (zz[-1] - zz[0] + 1) * dz >= 8.0:  # a vertebral body is ≥ 15 mm tall; partial at ends
            runs.append((int(zz[0]), int(zz[-1])))
    near_lo, near_hi = RIB_NEAR_MM[0] / dx, RIB_NEAR_MM[1] / dx
    found: list[tuple[int, int, tuple[float, float], bool]] = []
    for z0, z1 in runs:
        ribs = False
        for z in range(z0, z1 + 1):
            if np.isnan(centre[z, 0]):
                continue
            cy, cx = centre[z]
            labels2, m = ndi.label(bone[z] & ~ndi.binary_dilation(vb[z], iterations=2))
            if m == 0:
                continue
            objs = ndi.find_objects(labels2)
            counts = np.bincount(labels2.ravel())
            for i, sl in enumerate(objs, start=1):
                if sl is None:
                    continue
                a_mm2 = counts[i] * dy * dx
                if a_mm2 > RIB_MAX_AREA_MM2 or a_mm2 < 10.0:
                    continue
                yy, xx = np.nonzero(labels2[sl] == i)
                my = yy.mean() + sl[0].start
                mx = xx.mean() + sl[1].start
                d = abs(mx - cx)
                if near_lo <= d <= near_hi and my >= cy - 10.0 / dy:
                    ribs = True
                    break
            if ribs:
                break
        zc = (z0 + z1) // 2
        c = centre[zc]
        found.append((z0, z1, (float(c[0]), float(c[1])), ribs))
    # anchor: the lowest vertebra with ribs is T12, if one without ribs lies below it or the
    # rib-bearing run continues upwards (a lone rib-free scan gives no anchor)
    # Levels are not named yet: on the development volumes the rib test also fires on lumbar
    # transverse processes and the discs do not always separate the bodies, so counting from a
    # T12 anchor was wrong. ``level`` stays None (docs/imaging.md, "what is left").
    levels: list[str | None] = [None] * len(found)
    return [
        Vertebra(index=i, z0=f[0], z1=f[1], centre_yx=f[2], has_ribs=f[3], level=levels[i])
        for i, f in enumerate(found)
    ]
