"""The candidate-lesion aid (issue 17 item 3): skeleton, vertebral bodies, lytic and blastic
candidates, key images, plus any hospital plug-in — shown only as 未经验证的辅助提示.

Call :func:`analyse_volume` (a :class:`bonepath.imaging.dicom.Volume`, a
:class:`bonepath.imaging.aid_nifti.NiftiVolume`, or anything with ``.hu`` (z, y, x) int16 and
``.spacing`` (dz, dy, dx) mm) or :func:`analyse_path` (a NIfTI file, or DICOM files/folder).
The answer is data for a reader. It is never a confirmation of metastasis. Nothing here imports or
writes the record, the store or the rules: a person who agrees with a candidate records the
finding themselves (tests/imaging/test_aid.py checks both).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from bonepath.imaging.aid_candidates import THRESHOLDS, Candidate, find_candidates
from bonepath.imaging.aid_keyimage import key_image_png
from bonepath.imaging.aid_plugins import AidPlugin, run_plugin
from bonepath.imaging.aid_skeleton import Skeleton, segment_skeleton

__all__ = [
    "AID_LABEL",
    "MEASURED_ACCURACY",
    "METHOD",
    "AidReport",
    "HuVolume",
    "analyse_path",
    "analyse_volume",
]

METHOD = "bonepath-classical-1"
AID_LABEL = {"zh": "未经验证的辅助提示", "en": "unvalidated aid"}
NOTICE = {
    "zh": "未经验证的辅助提示：候选病灶仅供阅片者参考，不能确认或排除骨转移，不写入病历。",
    "en": "Unvalidated aid: candidate lesions for a reader to look at; they neither confirm nor "
    "exclude bone metastasis and are never written to the record.",
}
# What bench/lesion_aid_bench.py measured (bench/README.md); shown with every answer.
MEASURED_ACCURACY: dict[str, Any] = {
    "source": "bench/README.md (bench/lesion_aid_bench.py, 2026-12-07): synthetic lesions in one "
    "real abdominal CT of 3 mm voxels; no patient with a known metastasis",
    "validated_on_patients": False,
    "skeleton_dice": 0.815,
    "sensitivity": {
        "lytic_vertebra_10_30mm": "34/36 at -40 to -120 HU (12 of them where the lesion-free "
        "volume already had a lytic candidate); 5 mm: 2/9",
        "blastic_vertebra_10_30mm_300_600HU": "24/24 (4 by chance); +150 HU: 2/12; 5 mm: 0/9",
        "blastic_rib_10_30mm_300_600HU": "32/32; +150 HU: 4/16; 5 mm: 0/12",
        "lytic_rib": "0/60 (not searched)",
    },
    "false_candidates_per_volume": {
        "abdomen_pelvis_112_slices": 63,
        "30_slices": 24,
        "dicom_20_slices": 18,
    },
    "not_searched": [
        "pelvis",
        "sacrum",
        "long bones",
        "scapulae",
        "skull",
        "lytic lesions of ribs",
    ],
}


class HuVolume(Protocol):
    @property
    def hu(self) -> npt.NDArray[np.int16]: ...

    @property
    def spacing(self) -> tuple[float, float, float]: ...


@dataclass
class AidReport:
    """The aid's answer for one volume."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    candidates: list[Candidate]
    set_apart: list[Candidate]
    skeleton: Skeleton
    seconds: float
    plugins: list[dict[str, Any]] = field(default_factory=list)
    key_images: dict[int, bytes] = field(default_factory=dict)  # candidate index → PNG
    sop_uids: tuple[str, ...] = ()  # per slice, when the volume came from DICOM

    def to_json(self, key_image_paths: dict[int, str] | None = None) -> dict[str, Any]:
        paths = key_image_paths or {}
        cands = []
        for i, c in enumerate(self.candidates):
            item = {"id": f"C{i + 1}", **c.to_json(), "key_image": paths.get(i)}
            if len(self.sop_uids) == self.shape[0]:
                item["sop_instance_uid"] = self.sop_uids[c.slice]  # the viewer's slice
            cands.append(item)
        return {
            "aid": {
                "label": AID_LABEL,
                "notice": NOTICE,
                "validated": False,
                "confirms_metastasis": False,
                "sets_record_facts": False,
                "method": METHOD,
                "measured_accuracy": MEASURED_ACCURACY,
                "thresholds": THRESHOLDS,
            },
            "volume": {
                "shape_zyx": list(self.shape),
                "spacing_zyx_mm": [round(s, 3) for s in self.spacing],
                "skeleton_ml": round(float(self.skeleton.bone.sum()) * _voxel(self) / 1000.0, 1),
                "vertebral_body_slices": int(self.skeleton.vertebral_body.any(axis=(1, 2)).sum()),
                "seconds": round(self.seconds, 2),
            },
            "candidates": cands,
            "set_apart": [c.to_json() for c in self.set_apart],
            "plugins": self.plugins,
        }


def _voxel(report: AidReport) -> float:
    dz, dy, dx = report.spacing
    return dz * dy * dx


def analyse_volume(
    volume: HuVolume,
    *,
    key_images: bool = False,
    plugins: Sequence[AidPlugin] = (),
) -> AidReport:
    """Skeleton, candidates and (optionally) key images and plug-in findings for one volume."""
    hu = np.ascontiguousarray(volume.hu, dtype=np.int16)
    if hu.ndim != 3 or min(hu.shape) < 1:
        raise ValueError(f"NOT_A_VOLUME: shape {hu.shape}")
    spacing = tuple(float(s) for s in volume.spacing)
    sp = (spacing[0], spacing[1], spacing[2])
    start = time.perf_counter()
    skeleton = segment_skeleton(hu, sp)
    candidates, apart = find_candidates(hu, sp, skeleton)
    seconds = time.perf_counter() - start
    report = AidReport(
        shape=(int(hu.shape[0]), int(hu.shape[1]), int(hu.shape[2])),
        spacing=sp,
        candidates=candidates,
        set_apart=apart,
        skeleton=skeleton,
        seconds=seconds,
        sop_uids=tuple(str(u) for u in getattr(volume, "sop_uids", ()) or ()),
    )
    if key_images:
        for i, c in enumerate(candidates):
            report.key_images[i] = candidate_key_image(hu, sp, c)
    report.plugins = [run_plugin(p, hu, sp) for p in plugins]
    return report


def candidate_key_image(
    hu: npt.NDArray[np.int16], spacing: tuple[float, float, float], candidate: Candidate
) -> bytes:
    """The axial slice with the candidate's largest cross-section, outlined, bone window."""
    z = candidate.slice
    outline = np.zeros(hu.shape[1:], dtype=bool)
    (z0, y0, x0), (_, y1, x1) = candidate.bbox
    if candidate.mask is not None and 0 <= z - z0 < candidate.mask.shape[0]:
        outline[y0 : y1 + 1, x0 : x1 + 1] = candidate.mask[z - z0]
    return key_image_png(hu[z], outline, candidate.kind, (spacing[1], spacing[2]))


def analyse_path(
    path: str | Path, *, key_images: bool = False, plugins: Sequence[AidPlugin] = ()
) -> AidReport:
    """A NIfTI file (.nii, .nii.gz) or DICOM file(s)/folder (bonepath.imaging.dicom)."""
    p = Path(path)
    name = p.name.lower()
    volume: HuVolume
    if name.endswith((".nii", ".nii.gz")):
        from bonepath.imaging.aid_nifti import load_nifti

        volume = load_nifti(p)
    else:
        from bonepath.imaging.dicom import load_volume

        volume = load_volume(p)
    return analyse_volume(volume, key_images=key_images, plugins=plugins)
