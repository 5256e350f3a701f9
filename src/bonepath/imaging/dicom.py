"""DICOM CT series → a Hounsfield-unit volume, and what the headers say about the series.

Reads DICOM files and folders with pydicom. Compressed pixel data decode through pydicom's
plug-ins: JPEG 2000 through ``pylibjpeg`` + ``pylibjpeg-openjpeg``, JPEG-LS through ``pyjpegls``
(all main dependencies). Nothing here reads the network: :mod:`bonepath.imaging.dicomweb`
fetches instances and hands their datasets to :func:`volume_from_datasets`.

The loader API (also used by the candidate-lesion aid; /work notes imaging.md):

- :func:`load_volume` — a file, a folder (searched recursively) or a list of files → one
  :class:`Volume` (the series with most slices, or the one named by ``series_uid``);
- :func:`read_series` — the series found there, headers only (no pixel data decoded);
- :func:`volume_from_datasets` — the same from pydicom datasets already in memory;
- :func:`bone_window_evidence` — does a series look like a bone-window reconstruction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

__all__ = [
    "BoneWindowEvidence",
    "DicomReadError",
    "SeriesInfo",
    "Volume",
    "WindowPreset",
    "bone_window_evidence",
    "decode_slice",
    "load_volume",
    "plan_volume",
    "read_series",
    "series_info",
    "volume_from_datasets",
]


class DicomReadError(ValueError):
    """A DICOM input that cannot be read as a CT volume; ``code`` names why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class WindowPreset:
    """A window stored in the header (WindowCenter/WindowWidth), with its explanation."""

    center: float
    width: float
    explanation: str = ""


@dataclass(frozen=True)
class SeriesInfo:
    """What the headers of one series say (taken from its first instance, plus a count)."""

    study_uid: str
    series_uid: str
    modality: str
    description: str
    kernels: tuple[str, ...]
    windows: tuple[WindowPreset, ...]
    image_types: tuple[str, ...]
    body_part: str
    study_date: str
    series_number: int | None
    instances: int
    slice_thickness: float | None = None
    patient_id: str = ""
    reading_physicians: tuple[str, ...] = ()
    """NameOfPhysiciansReadingStudy (0008,1060), each name as :func:`person_name` writes it.
    Not PerformingPhysicianName (0008,1050) nor OperatorsName (0008,1070): those name who
    performed the scan (technologists), not the radiologist who read it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_uid": self.study_uid,
            "series_uid": self.series_uid,
            "modality": self.modality,
            "description": self.description,
            "kernels": list(self.kernels),
            "windows": [
                {"center": w.center, "width": w.width, "explanation": w.explanation}
                for w in self.windows
            ],
            "image_types": list(self.image_types),
            "body_part": self.body_part,
            "study_date": self.study_date,
            "series_number": self.series_number,
            "instances": self.instances,
            "slice_thickness": self.slice_thickness,
            "bone_window": bone_window_evidence(self).to_dict(),
        }


@dataclass(frozen=True)
class Volume:
    """A CT series as Hounsfield units, (z, y, x), z along the slice normal (lowest first)."""

    hu: npt.NDArray[np.int16]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    info: SeriesInfo
    sop_uids: tuple[str, ...] = field(default=())

    @property
    def shape(self) -> tuple[int, int, int]:
        z, y, x = self.hu.shape
        return int(z), int(y), int(x)


# --- headers ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip()


def _multi(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes | int | float):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


def _floats(value: Any) -> list[float]:
    out: list[float] = []
    for v in _multi(value):
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def series_info(ds: Dataset, instances: int = 1) -> SeriesInfo:
    """The :class:`SeriesInfo` of the series ``ds`` belongs to (headers of ``ds``)."""
    centers = _floats(ds.get("WindowCenter"))
    widths = _floats(ds.get("WindowWidth"))
    explanations = [_text(v) for v in _multi(ds.get("WindowCenterWidthExplanation"))]
    windows = tuple(
        WindowPreset(c, w, explanations[i] if i < len(explanations) else "")
        for i, (c, w) in enumerate(zip(centers, widths, strict=False))
        if w > 0
    )
    kernels = tuple(k for k in (_text(v) for v in _multi(ds.get("ConvolutionKernel"))) if k)
    number = ds.get("SeriesNumber")
    try:
        series_number = int(number) if number not in (None, "") else None
    except (TypeError, ValueError):
        series_number = None
    thickness = _floats(ds.get("SliceThickness"))
    return SeriesInfo(
        study_uid=_text(ds.get("StudyInstanceUID")),
        series_uid=_text(ds.get("SeriesInstanceUID")),
        modality=_text(ds.get("Modality")),
        description=_text(ds.get("SeriesDescription")),
        kernels=kernels,
        windows=windows,
        image_types=tuple(_text(v) for v in _multi(ds.get("ImageType"))),
        body_part=_text(ds.get("BodyPartExamined")),
        study_date=_text(ds.get("StudyDate")),
        series_number=series_number,
        instances=instances,
        slice_thickness=thickness[0] if thickness else None,
        patient_id=_text(ds.get("PatientID")),
        reading_physicians=tuple(
            n for n in (person_name(v) for v in _multi(ds.get("NameOfPhysiciansReadingStudy"))) if n
        ),
    )


def person_name(value: Any) -> str:
    """A DICOM person name as a reader writes it: the ideographic form (王^丽 → 王丽) when
    there is one, else the alphabetic with its components space-separated (Wang^Li → Wang Li)."""
    if value is None:
        return ""
    ideographic = str(getattr(value, "ideographic", "") or "")
    if ideographic:
        return "".join(p for p in ideographic.split("^") if p).strip()
    alphabetic = str(getattr(value, "alphabetic", value) or "").split("=")[0]
    return " ".join(p for p in alphabetic.split("^") if p).strip()


# --- bone-window reconstruction -------------------------------------------------------------

# Series descriptions that name a bone reconstruction (English and Chinese as CT consoles write
# them): "Bone", "BONE 1.0", "骨窗", "骨算法", "Osteo", "Skeleton", "sharp" bone plus.
_BONE_DESCRIPTION = re.compile(
    r"(bone|osteo|skelet|骨窗|骨算法|骨重建|骨骼|\bB\s*plus\b|\bboneplus\b)", re.IGNORECASE
)
# Bone/sharp reconstruction kernels by vendor: Siemens B60f–B80f / Br59–Br76 / Bl57+ / Bv, I70f+
# (sharp), "BONE"/"BONEPLUS"/"EDGE" (GE), "YC"/"YD"/"D"/"E" (Philips: D, E, YC, YD sharp),
# Canon/Toshiba FC30, FC31, FC35, FC80-86 (bone), United Imaging "B_SHARP", "B_BONE".
_SIEMENS = re.compile(r"^[BIH](r|l|v)?(\d{2})[a-z]?$", re.IGNORECASE)
_BONE_KERNEL_WORDS = re.compile(r"(bone|edge|sharp|osteo)", re.IGNORECASE)
_PHILIPS_SHARP = {"D", "E", "YC", "YD", "YE"}
_CANON_BONE = {"FC30", "FC31", "FC35", "FC80", "FC81", "FC82", "FC83", "FC84", "FC85", "FC86"}


def _kernel_is_sharp(kernel: str) -> bool:
    k = kernel.strip().upper()
    if not k:
        return False
    if _BONE_KERNEL_WORDS.search(k):
        return True
    if k in _PHILIPS_SHARP or k in _CANON_BONE:
        return True
    m = _SIEMENS.match(k)
    return bool(m and int(m.group(2)) >= 57)


def _window_is_bone(w: WindowPreset) -> bool:
    """A stored window whose width and level read as a bone window (WW ≥ 1000, WL 200–1200)."""
    return w.width >= 1000 and 200 <= w.center <= 1200


@dataclass(frozen=True)
class BoneWindowEvidence:
    """Whether a series holds a bone-window reconstruction, and which header said so.

    ``reconstruction`` is True when the description or the kernel names a bone (sharp)
    reconstruction; ``preset`` is True when a stored window preset is a bone window
    (the images can be read in a bone window as stored). ``reasons`` lists the evidence.
    """

    reconstruction: bool
    preset: bool
    reasons: tuple[str, ...]

    @property
    def present(self) -> bool:
        return self.reconstruction or self.preset

    def to_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "reconstruction": self.reconstruction,
            "preset": self.preset,
            "reasons": list(self.reasons),
        }


def bone_window_evidence(info: SeriesInfo) -> BoneWindowEvidence:
    """Read the series description, convolution kernel and stored window presets."""
    reasons: list[str] = []
    recon = False
    if info.description and _BONE_DESCRIPTION.search(info.description):
        recon = True
        reasons.append(f"description: {info.description}")
    for k in info.kernels:
        if _kernel_is_sharp(k):
            recon = True
            reasons.append(f"kernel: {k}")
            break
    preset = False
    for w in info.windows:
        if _window_is_bone(w):
            preset = True
            reasons.append(f"window: WL {w.center:g} / WW {w.width:g}")
            break
    return BoneWindowEvidence(recon, preset, tuple(reasons))


# --- reading files ------------------------------------------------------------------------------


def _files(source: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(source, str | Path):
        p = Path(source)
        if p.is_dir():
            return sorted(f for f in p.rglob("*") if f.is_file())
        if p.is_file():
            return [p]
        raise DicomReadError("NOT_FOUND", f"no such file or folder: {p.name}")
    return [Path(s) for s in source]


def _read(path: Path, *, pixels: bool) -> Dataset | None:
    try:
        return pydicom.dcmread(path, stop_before_pixels=not pixels)
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError, TypeError):
        return None


def _series_key(ds: Dataset) -> str:
    uid = _text(ds.get("SeriesInstanceUID"))
    if uid:
        return uid
    # de-identified data may carry no UIDs: group by frame of reference, orientation and size
    orient = ",".join(f"{v:.3f}" for v in _floats(ds.get("ImageOrientationPatient")))
    return "|".join(
        (
            _text(ds.get("FrameOfReferenceUID")),
            _text(ds.get("SeriesDescription")),
            orient,
            _text(ds.get("Rows")),
            _text(ds.get("Columns")),
        )
    )


def _is_image(ds: Dataset) -> bool:
    return "Rows" in ds and "Columns" in ds


def read_series(source: str | Path | Iterable[str | Path]) -> list[SeriesInfo]:
    """The series in a file, folder or list of files (headers only), most instances first."""
    groups: dict[str, list[Dataset]] = {}
    for f in _files(source):
        ds = _read(f, pixels=False)
        if ds is None or not _is_image(ds):
            continue
        groups.setdefault(_series_key(ds), []).append(ds)
    infos = [series_info(members[0], len(members)) for members in groups.values()]
    return sorted(infos, key=lambda i: -i.instances)


def load_volume(
    source: str | Path | Iterable[str | Path], *, series_uid: str | None = None
) -> Volume:
    """Read one CT series into a :class:`Volume` (see the module doc)."""
    groups: dict[str, list[Dataset]] = {}
    for f in _files(source):
        ds = _read(f, pixels=True)
        if ds is None or "PixelData" not in ds:
            continue
        groups.setdefault(_series_key(ds), []).append(ds)
    if not groups:
        raise DicomReadError("NO_IMAGES", "no DICOM image was found")
    if series_uid is not None:
        if series_uid not in groups:
            raise DicomReadError("NO_SUCH_SERIES", f"series {series_uid} is not there")
        chosen = groups[series_uid]
    else:
        chosen = max(groups.values(), key=len)
    return volume_from_datasets(chosen)


def _normal(ds: Dataset) -> npt.NDArray[np.float64]:
    o = _floats(ds.get("ImageOrientationPatient"))
    if len(o) != 6:
        return np.array([0.0, 0.0, 1.0])
    row, col = np.array(o[:3]), np.array(o[3:])
    n = np.cross(row, col)
    norm = float(np.linalg.norm(n))
    return n / norm if norm > 0 else np.array([0.0, 0.0, 1.0])


def _position(ds: Dataset, normal: npt.NDArray[np.float64], index: int) -> float:
    p = _floats(ds.get("ImagePositionPatient"))
    if len(p) == 3:
        return float(np.dot(np.array(p), normal))
    loc = _floats(ds.get("SliceLocation"))
    if loc:
        return loc[0]
    num = ds.get("InstanceNumber")
    return float(num) if num not in (None, "") else float(index)


def _hu(ds: Dataset) -> npt.NDArray[np.int16]:
    try:
        arr: npt.NDArray[Any] = np.asarray(ds.pixel_array)
    except Exception as exc:  # pydicom raises many kinds for a codec it has no plug-in for
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", str(syntax))
        raise DicomReadError("CANNOT_DECODE", f"pixel data ({name}) cannot be decoded: {exc}") from exc
    if arr.ndim != 2:
        raise DicomReadError("NOT_A_SLICE", f"pixel data of shape {arr.shape} is not one slice")
    slope = _floats(ds.get("RescaleSlope")) or [1.0]
    intercept = _floats(ds.get("RescaleIntercept")) or [0.0]
    hu = arr.astype(np.float32) * np.float32(slope[0]) + np.float32(intercept[0])
    out: npt.NDArray[np.int16] = np.clip(np.rint(hu), -32768, 32767).astype(np.int16)
    return out


def plan_volume(datasets: Sequence[Dataset]) -> tuple[Volume, list[Dataset]]:
    """Order the slices of one series (any order) along the slice normal, one per position,
    and allocate their :class:`Volume` — its ``hu`` not filled yet (``decode_slice`` fills
    plane ``i`` from ``slices[i]``). Headers only: nothing is decoded here."""
    slices = [ds for ds in datasets if "PixelData" in ds]
    if not slices:
        raise DicomReadError("NO_IMAGES", "no DICOM image was found")
    normal = _normal(slices[0])
    keyed = sorted(
        ((_position(ds, normal, i), i, ds) for i, ds in enumerate(slices)), key=lambda t: t[:2]
    )
    # one slice per position (a duplicate instance, sent twice, counts once)
    unique: list[tuple[float, int, Dataset]] = []
    for item in keyed:
        if unique and abs(item[0] - unique[-1][0]) < 1e-4:
            continue
        unique.append(item)
    first = unique[0][2]
    rows, cols = int(first.Rows), int(first.Columns)
    for _, _, ds in unique:
        if int(ds.Rows) != rows or int(ds.Columns) != cols:
            raise DicomReadError("MIXED_SIZES", "the slices of the series differ in size")
    pixel = _floats(first.get("PixelSpacing")) or [1.0, 1.0]
    if len(unique) > 1:
        steps = np.diff([u[0] for u in unique])
        dz = float(np.median(steps))
    else:
        dz = (_floats(first.get("SliceThickness")) or [1.0])[0]
    origin_list = _floats(first.get("ImagePositionPatient"))
    origin = (
        (origin_list[0], origin_list[1], origin_list[2])
        if len(origin_list) == 3
        else (0.0, 0.0, 0.0)
    )
    volume = Volume(
        hu=np.empty((len(unique), rows, cols), dtype=np.int16),
        spacing=(dz, float(pixel[0]), float(pixel[1] if len(pixel) > 1 else pixel[0])),
        origin=origin,
        info=series_info(first, len(unique)),
        sop_uids=tuple(_text(ds.get("SOPInstanceUID")) for _, _, ds in unique),
    )
    return volume, [ds for _, _, ds in unique]


def decode_slice(volume: Volume, index: int, ds: Dataset) -> None:
    """Decode ``ds`` into plane ``index`` of ``volume`` (HU)."""
    volume.hu[index] = _hu(ds)


def volume_from_datasets(datasets: Sequence[Dataset]) -> Volume:
    """Stack the slices of one series (any order) into a :class:`Volume`."""
    volume, slices = plan_volume(datasets)
    for i, ds in enumerate(slices):
        decode_slice(volume, i, ds)
    return volume
