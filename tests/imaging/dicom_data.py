"""The shared real CT series (TotalSegmentator's example_ct_dicom, Apache-2.0 / CC BY 4.0) and a
copy of it with the study/series/instance UIDs and patient id a PACS needs (the shared files are
de-identified: their UIDs and patient id are empty). Used by the DICOM, DICOMweb, viewer tests
and the imaging bench."""

from __future__ import annotations

from pathlib import Path

import pydicom

ROOT = Path(__file__).resolve().parents[2]
CT_DATA = ROOT.parent / "shared" / "data" / "ct-totalsegmentator"
CT_DICOM = CT_DATA / "example_ct_dicom"

# fixed UIDs (2.25 = UUID-derived root) so that tests can name the study
STUDY_UID = "2.25.171001234567890123456789012345678901"
SERIES_UID = "2.25.171001234567890123456789012345678902"
FRAME_UID = "2.25.171001234567890123456789012345678903"


def instance_uid(i: int) -> str:
    return f"2.25.1710012345678901234567890123456789{i + 100:03d}"


def prepared_series(
    target: Path,
    *,
    patient_id: str = "IMG-0001",
    study_date: str = "20260301",
    slices: int | None = None,
) -> list[Path]:
    """Copy the shared series into ``target`` with UIDs, patient id and study date set (pixel
    data untouched: JPEG 2000 lossless as shipped). ``slices`` keeps the first N only."""
    target.mkdir(parents=True, exist_ok=True)
    files = sorted(CT_DICOM.iterdir())
    if slices is not None:
        files = files[:slices]
    out: list[Path] = []
    for i, f in enumerate(files):
        ds = pydicom.dcmread(f)
        uid = instance_uid(i)
        ds.SOPClassUID = pydicom.uid.CTImageStorage
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.StudyInstanceUID = STUDY_UID
        ds.SeriesInstanceUID = SERIES_UID
        ds.PatientID = patient_id
        ds.PatientName = "TEST^IMAGING"
        ds.StudyDate = study_date
        ds.SeriesDate = study_date
        ds.StudyID = "1"
        ds.SeriesNumber = 2
        ds.AccessionNumber = "ACC0001"
        ds.StudyDescription = "CT CHEST ABDOMEN"
        path = target / f"{i:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out.append(path)
    return out
