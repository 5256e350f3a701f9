"""Rendered key images as DICOM Secondary Capture (SC Image Storage, 1.2.840.10008.5.1.4.1.1.7).

A key image (an axial slice or the sagittal spine reformat, in a named window) becomes an
8-bit MONOCHROME2 Secondary Capture instance in the source study (same StudyInstanceUID and
patient), in a new series of its own, saying what it was derived from: the source series and
instance, the window (DerivationDescription), ``ConversionType`` ``WSD`` (workstation), no
burned-in annotation. The pixel data are the pixels the viewer showed.

:func:`key_image` makes one; :func:`key_image_bytes` gives the Part-10 file bytes, which is
what an MDT case attaches (the MDT module calls it; see /work notes imaging.md and mdt.md) and
what ``GET /imaging/capture…`` downloads.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from bonepath.imaging.dicom import Volume
from bonepath.imaging.render import View, Window, axial_pixels, sagittal_pixels

__all__ = ["KeyImage", "key_image", "key_image_bytes", "secondary_capture"]


@dataclass(frozen=True)
class KeyImage:
    """One exported key image: the file bytes, the UIDs it was given, a file name."""

    data: bytes
    study_uid: str
    series_uid: str
    sop_uid: str
    filename: str


def secondary_capture(
    pixels: npt.NDArray[np.uint8],
    *,
    patient_id: str,
    patient_name: str,
    study_uid: str,
    study_date: str,
    description: str,
    derivation: str,
    pixel_spacing: tuple[float, float] | None = None,
    source_series_uid: str | None = None,
    source_sop_uid: str | None = None,
    series_uid: str | None = None,
    instance_number: int = 1,
    now: dt.datetime | None = None,
) -> Dataset:
    """An SC Image Storage dataset holding ``pixels`` (8-bit grey, rows × columns)."""
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise ValueError("a key image is 8-bit greyscale, rows × columns")
    when = now or dt.datetime.now(dt.UTC)
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: Chinese names and descriptions
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.PatientID = patient_id
    ds.PatientName = patient_name
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = study_date
    ds.StudyTime = ""
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = ""
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.SeriesNumber = 9001
    ds.SeriesDescription = "bonepath key images"
    ds.InstanceNumber = instance_number
    ds.ContentDate = when.strftime("%Y%m%d")
    ds.ContentTime = when.strftime("%H%M%S")
    ds.DateOfSecondaryCapture = ds.ContentDate
    ds.TimeOfSecondaryCapture = ds.ContentTime
    ds.ImageComments = description
    ds.DerivationDescription = derivation
    ds.BurnedInAnnotation = "NO"
    ds.Manufacturer = "bonepath"
    if source_sop_uid:
        source = Dataset()
        source.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage
        source.ReferencedSOPInstanceUID = source_sop_uid
        ds.SourceImageSequence = [source]
    if source_series_uid:
        ref = Dataset()
        ref.SeriesInstanceUID = source_series_uid
        ds.ReferencedSeriesSequence = [ref]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if pixel_spacing:
        ds.PixelSpacing = [f"{pixel_spacing[0]:.6g}", f"{pixel_spacing[1]:.6g}"]
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds


def key_image(
    volume: Volume,
    view: View,
    index: int,
    window: Window,
    *,
    patient_id: str,
    patient_name: str = "",
    series_uid: str | None = None,
    instance_number: int = 1,
) -> tuple[Dataset, npt.NDArray[np.uint8]]:
    """The SC dataset of one rendered image of ``volume`` (and the pixels)."""
    info = volume.info
    if view == "axial":
        pixels = axial_pixels(volume, index, window)
        source_sop = volume.sop_uids[index] if index < len(volume.sop_uids) else None
        spacing = (volume.spacing[1], volume.spacing[2])
        what = f"axial image {index + 1}/{volume.shape[0]}"
    else:
        pixels = sagittal_pixels(volume, index, window)
        source_sop = None
        spacing = (volume.spacing[1], volume.spacing[1])  # resampled square
        what = f"sagittal reformat at column {index}"
    derivation = (
        f"{what} of series {info.series_uid or '-'} ({info.description or 'CT'}), "
        f"{window.name} window {window.label}, rendered by bonepath"
    )
    ds = secondary_capture(
        pixels,
        patient_id=patient_id,
        patient_name=patient_name,
        study_uid=info.study_uid or generate_uid(),
        study_date=info.study_date,
        description=f"{window.name} window, {what}",
        derivation=derivation[:1024],
        pixel_spacing=spacing,
        source_series_uid=info.series_uid or None,
        source_sop_uid=source_sop or None,
        series_uid=series_uid,
        instance_number=instance_number,
    )
    return ds, pixels


def key_image_bytes(
    volume: Volume,
    view: View,
    index: int,
    window: Window,
    *,
    patient_id: str,
    patient_name: str = "",
    series_uid: str | None = None,
    instance_number: int = 1,
) -> KeyImage:
    """:func:`key_image` as a DICOM Part-10 file (what an MDT case attaches)."""
    ds, _ = key_image(
        volume,
        view,
        index,
        window,
        patient_id=patient_id,
        patient_name=patient_name,
        series_uid=series_uid,
        instance_number=instance_number,
    )
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return KeyImage(
        data=buffer.getvalue(),
        study_uid=str(ds.StudyInstanceUID),
        series_uid=str(ds.SeriesInstanceUID),
        sop_uid=str(ds.SOPInstanceUID),
        filename=f"key-{view}-{index + 1:03d}-{window.name}.dcm",
    )
