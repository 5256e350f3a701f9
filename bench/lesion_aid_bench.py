"""Known-answer evaluation and speed of the candidate-lesion aid (issue 17 items 3-4).

    .venv/bin/python bench/lesion_aid_bench.py [--quick] [--speed-only] [--no-speed]

1. Skeleton-mask Dice against the TotalSegmentator reference masks of
   shared/data/ct-totalsegmentator (example_seg.nii.gz on example_ct_sm, the union of
   example_seg_fast/*.nii.gz, and the same 30 slices analysed inside the whole example_ct).
2. False candidates per volume on the unmodified volumes (example_ct, example_ct_sm, the DICOM
   series).
3. Sensitivity: synthetic lytic and blastic spheres (5-30 mm, three contrasts) inserted into the
   real T12, L1, L2 (medullary, cortex intact) and four ribs (whole cross-section) of example_ct,
   one lesion per bone per run; a lesion is found when a candidate of its kind overlaps it.
   The thresholds were fixed before the first lesion was inserted and were not changed after.
4. Speed: a 300-slice 512 x 512 CT (example_ct resampled to 0.75 x 0.75 x 1.12 mm, padded with
   air to 512 x 512) through mask + candidates, wall time and peak RSS of a fresh process, with the
   load average noted (the machine is shared).
Data: TotalSegmentator test files (Apache-2.0; CT data CC BY 4.0, Wasserthal et al. 2023).
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import nibabel as nib
import numpy as np

from bonepath.imaging.aid import analyse_volume
from bonepath.imaging.aid_nifti import NiftiVolume, load_nifti, ras_to_internal
from bonepath.imaging.aid_phantom import (
    TS_RIBS,
    TS_VERTEBRAE,
    deepest_point,
    dice,
    insert_lesion,
    ts_bone_mask,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ct-totalsegmentator"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/ct-totalsegmentator")
SM_OFFSET = 82  # example_ct_sm = slices 82..111 of example_ct (checked voxel for voxel)
SIZES = (5.0, 10.0, 15.0, 20.0, 30.0)
CONTRASTS = {"lytic": (-40.0, -80.0, -120.0), "blastic": (150.0, 300.0, 600.0)}
RIBS = (100, 102, 112, 114)  # rib_left_9, rib_left_11, rib_right_9, rib_right_11


def _labels() -> np.ndarray:
    img = nib.load(str(DATA / "example_seg.nii.gz"))
    return np.asarray(ras_to_internal(np.asanyarray(img.dataobj)))


def dice_table() -> list[tuple[str, float]]:
    seg = _labels()
    ref = ts_bone_mask(seg)
    fast = np.zeros_like(ref)
    for f in glob.glob(str(DATA / "example_seg_fast" / "*.nii.gz")):
        fast |= np.asarray(ras_to_internal(np.asanyarray(nib.load(f).dataobj))) > 0
    sm = load_nifti(DATA / "example_ct_sm.nii.gz")
    bone_sm = analyse_volume(sm).skeleton.bone
    full = load_nifti(DATA / "example_ct.nii.gz")
    bone_full = analyse_volume(full).skeleton.bone[SM_OFFSET : SM_OFFSET + ref.shape[0]]
    return [
        ("example_ct_sm vs example_seg (bones)", dice(bone_sm, ref)),
        ("example_ct_sm vs example_seg_fast (union)", dice(bone_sm, fast)),
        ("example_ct, its top 30 slices vs example_seg", dice(bone_full, ref)),
    ]


def false_candidates() -> list[tuple[str, int, int, dict[str, int]]]:
    from bonepath.imaging.dicom import load_volume

    rows = []
    for name, vol in (
        ("example_ct (112 x 101 x 122, 3 mm)", load_nifti(DATA / "example_ct.nii.gz")),
        ("example_ct_sm (30 slices, 3 mm)", load_nifti(DATA / "example_ct_sm.nii.gz")),
        ("example_ct_dicom (20 x 512 x 512)", load_volume(DATA / "example_ct_dicom")),
    ):
        r = analyse_volume(vol)
        kinds: dict[str, int] = defaultdict(int)
        for c in r.candidates:
            kinds[c.kind] += 1
        rows.append((name, len(r.candidates), len(r.set_apart), dict(kinds)))
    return rows


def _overlaps(cand_mask: np.ndarray, bbox: tuple, truth: np.ndarray) -> bool:
    (z0, y0, x0), (z1, y1, x1) = bbox
    return bool((truth[z0 : z1 + 1, y0 : y1 + 1, x0 : x1 + 1] & cand_mask).any())


def sensitivity(quick: bool) -> tuple[dict, dict, list]:
    from scipy import ndimage as ndi

    base = load_nifti(DATA / "example_ct.nii.gz")
    seg_sm = _labels()
    seg = np.zeros(base.hu.shape, dtype=seg_sm.dtype)
    seg[SM_OFFSET : SM_OFFSET + seg_sm.shape[0]] = seg_sm
    sites = []
    for lab, name in TS_VERTEBRAE.items():
        m = seg == lab
        sites.append((name, deepest_point(m, base.spacing), ndi.binary_erosion(m)))
    for lab in RIBS:
        m = seg == lab
        sites.append((TS_RIBS[lab], deepest_point(m, base.spacing), m))
    control = analyse_volume(base).candidates  # the same volume without any lesion
    found: dict = defaultdict(lambda: [0, 0, 0])
    extra: dict = defaultdict(int)
    misses = []
    sizes = SIZES[1::2] if quick else SIZES
    for kind, contrasts in CONTRASTS.items():
        for delta in contrasts:
            for size in sizes:
                hu = base.hu.copy()
                truths = []
                for name, centre, within in sites:
                    truths.append(
                        (name, insert_lesion(hu, base.spacing, centre, size, delta, within))
                    )
                r = analyse_volume(NiftiVolume(hu=hu, spacing=base.spacing))
                hit_any = np.zeros(len(r.candidates), dtype=bool)
                for name, truth in truths:
                    where = "vertebra" if name.startswith("vert") else "rib"
                    hit = False
                    for i, c in enumerate(r.candidates):
                        if c.mask is not None and _overlaps(c.mask, c.bbox, truth):
                            hit_any[i] = True
                            hit = hit or c.kind == kind
                    key = (kind, where, delta, size)
                    chance = any(
                        c.kind == kind and c.mask is not None and _overlaps(c.mask, c.bbox, truth)
                        for c in control
                    )
                    found[key][0] += int(hit)
                    found[key][1] += 1
                    found[key][2] += int(hit and chance)
                    if not hit:
                        misses.append((kind, name, delta, size))
                extra[(kind, delta, size)] = int((~hit_any).sum())
    return found, extra, misses


def speed_volume() -> NiftiVolume:
    """example_ct resampled to a 300-slice 512 x 512 CT (0.75 x 0.75 x 1.12 mm), air-padded."""
    from scipy import ndimage as ndi

    v = load_nifti(DATA / "example_ct.nii.gz")
    nz, ny, nx = v.hu.shape
    target = (300, 404, 488)
    zoom = tuple(t / s for t, s in zip(target, (nz, ny, nx), strict=True))
    big = ndi.zoom(v.hu.astype(np.float32), zoom, order=1).astype(np.int16)
    out = np.full((300, 512, 512), -1024, dtype=np.int16)
    oy, ox = (512 - big.shape[1]) // 2, (512 - big.shape[2]) // 2
    out[:, oy : oy + big.shape[1], ox : ox + big.shape[2]] = big[:300]
    spacing = (v.spacing[0] / zoom[0], v.spacing[1] / zoom[1], v.spacing[2] / zoom[2])
    return NiftiVolume(hu=out, spacing=spacing)


def speed_child() -> None:
    vol = speed_volume()
    np.save("/tmp/bonepath_aid_speed.npy", vol.hu)
    del vol


def speed() -> dict[str, float]:
    """Run mask + candidates in a fresh process limited to 2 cores; wall time and peak RSS."""
    if not Path("/tmp/bonepath_aid_speed.npy").exists():
        speed_child()
    code = (
        "import time,resource,numpy as np\n"
        "from bonepath.imaging.aid import analyse_volume\n"
        "from bonepath.imaging.aid_nifti import NiftiVolume\n"
        "hu=np.load('/tmp/bonepath_aid_speed.npy')\n"
        "base=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "t=time.perf_counter()\n"
        "r=analyse_volume(NiftiVolume(hu=hu,spacing=(1.12,0.75,0.75)))\n"
        "w=time.perf_counter()-t\n"
        "u=resource.getrusage(resource.RUSAGE_SELF)\n"
        "print(w, u.ru_maxrss, base, len(r.candidates), u.ru_utime+u.ru_stime)\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    cmd = ["taskset", "-c", "0,1", sys.executable, "-c", code]
    load = os.getloadavg()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.split()
    return {
        "seconds": float(out[0]),
        "peak_rss_mb": int(out[1]) / 1024,
        "rss_after_load_mb": int(out[2]) / 1024,
        "candidates": int(out[3]),
        "cpu_seconds": float(out[4]),
        "load_1min_before": load[0],
        "cpus": os.cpu_count() or 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="sizes 10 and 20 mm only")
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if not args.speed_only:
        print("== skeleton mask Dice (reference: TotalSegmentator masks, model-made)")
        for name, d in dice_table():
            print(f"  {name:48s} {d:.3f}")
        print("== false candidates per unmodified volume (no lesion known; all count as false)")
        for name, n, apart, kinds in false_candidates():
            print(f"  {name:40s} {n:4d} candidates {kinds}  set apart {apart}")
        print("== sensitivity (found / inserted) by kind, bone, contrast (HU) and size (mm);")
        print("   (n): of those found, n lie where the unmodified volume already had a candidate")
        found, extra, misses = sensitivity(args.quick)
        sizes = sorted({k[3] for k in found})
        print(f"  {'kind':8s} {'bone':9s} {'dHU':>6s} " + " ".join(f"{s:>9.0f}" for s in sizes))
        for kind in CONTRASTS:
            for where in ("vertebra", "rib"):
                for delta in CONTRASTS[kind]:
                    cells = [found[(kind, where, delta, s)] for s in sizes]
                    row = " ".join(
                        f"{h:>3d}/{n:<2d}" + (f"({c})" if c else "   ") for h, n, c in cells
                    )
                    print(f"  {kind:8s} {where:9s} {delta:>+6.0f} {row}")
        for kind in CONTRASTS:
            per = [extra[(kind, d, s)] for d in CONTRASTS[kind] for s in sizes]
            hits = [v for k, v in found.items() if k[0] == kind]
            h, n, c = (sum(x[i] for x in hits) for i in range(3))
            print(
                f"  {kind}: found {h}/{n} ({h / n:.0%}); not by chance {h - c}/{n} ({(h - c) / n:.0%})"
            )
            print(
                f"  candidates not on a lesion, {kind} runs: median {int(np.median(per))}, "
                f"range {min(per)}-{max(per)} per volume"
            )
        print(f"  missed: {len(misses)} of {sum(v[1] for v in found.values())}")
    if not args.no_speed:
        print("== speed: 300 x 512 x 512 CT, mask + candidates, fresh process on 2 cores")
        s = speed()
        print(
            f"  wall {s['seconds']:.1f} s (CPU {s['cpu_seconds']:.1f} s incl. loading), peak RSS {s['peak_rss_mb']:.0f} MB "
            f"(after loading the volume {s['rss_after_load_mb']:.0f} MB), "
            f"{s['candidates']} candidates; load average before {s['load_1min_before']:.2f} "
            f"on {s['cpus']} CPUs; floor 30 s / 2048 MB"
        )
    print(
        f"== bench time {time.perf_counter() - t0:.0f} s; peak RSS of the bench "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
