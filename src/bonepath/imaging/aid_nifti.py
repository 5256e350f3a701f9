"""NIfTI CT volumes for the candidate-lesion aid (nibabel), in the DICOM loader's convention.

:func:`load_nifti` returns a :class:`NiftiVolume` whose ``hu`` is (z, y, x) int16 like
:class:`bonepath.imaging.dicom.Volume`: z from inferior to superior, y from anterior to posterior
(image rows top to bottom), x from the patient's right to left (image columns, as a radiologist
sees an axial slice), and ``spacing`` (dz, dy, dx) in mm. The NIfTI is first reoriented to the
closest canonical (RAS+) axes, so oblique acquisitions keep their voxel grid (no resampling).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["NiftiReadError", "NiftiVolume", "load_nifti", "ras_to_internal"]


class NiftiReadError(ValueError):
    """A NIfTI input that cannot be read as a CT volume; ``code`` names why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class NiftiVolume:
    """A CT volume as Hounsfield units, (z, y, x) as :class:`bonepath.imaging.dicom.Volume`."""

    hu: npt.NDArray[np.int16]
    spacing: tuple[float, float, float]
    source: str = ""


def ras_to_internal(data: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """A canonical RAS+ array (i→R, j→A, k→S) as (z inferior→superior, y A→P, x R→L)."""
    return np.ascontiguousarray(np.transpose(data[::-1, ::-1, :], (2, 1, 0)))


def load_nifti(path: str | Path) -> NiftiVolume:
    """Read a 3-D NIfTI CT (values in HU) into the internal (z, y, x) int16 convention."""
    import nibabel as nib  # imported here: only the aid needs nibabel

    p = Path(path)
    try:
        image = nib.load(str(p))
    except FileNotFoundError as exc:
        raise NiftiReadError("UNREADABLE_FILE", f"{p}: not found") from exc
    except Exception as exc:  # nibabel raises several kinds for a file it cannot read
        raise NiftiReadError("NOT_NIFTI", f"{p}: {exc}") from exc
    if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
        raise NiftiReadError("NOT_NIFTI", f"{p}: not a NIfTI image")
    canonical = nib.as_closest_canonical(image)  # type: ignore[no-untyped-call]
    data = np.asanyarray(canonical.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise NiftiReadError("NOT_A_VOLUME", f"{p}: {data.ndim}-D image, a 3-D CT is needed")
    hu = np.clip(np.rint(np.asarray(data, dtype=np.float32)), -32768, 32767).astype(np.int16)
    zooms = canonical.header.get_zooms()[:3]
    dx, dy, dz = (float(z) for z in zooms)
    if min(dx, dy, dz) <= 0:
        raise NiftiReadError("BAD_SPACING", f"{p}: voxel size {zooms}")
    internal = np.asarray(ras_to_internal(hu), dtype=np.int16)
    return NiftiVolume(hu=internal, spacing=(dz, dy, dx), source=str(p))
