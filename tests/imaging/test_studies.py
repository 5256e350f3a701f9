"""Studies from a folder of DICOM files, the series the viewer shows, and the image cache."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bonepath.imaging.dicom import SeriesInfo
from bonepath.imaging.studies import FolderSource, ImagingService, StudyError, choose_series

from .dicom_data import CT_DICOM, SERIES_UID, STUDY_UID, prepared_series


def _series(uid: str, description: str, kernels: tuple[str, ...], n: int, types=("ORIGINAL", "PRIMARY", "AXIAL"), modality="CT") -> SeriesInfo:  # type: ignore[no-untyped-def]
    return SeriesInfo("1.2", uid, modality, description, kernels, (), tuple(types), "", "", None, n)


def test_the_bone_reconstruction_is_shown_before_a_larger_soft_tissue_series() -> None:
    scout = _series("1", "Topogram", ("T80f",), 1, ("ORIGINAL", "PRIMARY", "LOCALIZER"))
    soft = _series("2", "Thorax 1.0 B31f", ("B31f",), 320)
    bone = _series("3", "Thorax 1.0 B70f", ("B70f",), 300)
    key = _series("4", "bonepath key images", (), 2, ("DERIVED", "SECONDARY"), "OT")
    chosen = choose_series([scout, soft, bone, key])
    assert chosen is not None and chosen.series_uid == "3"
    assert choose_series([scout, soft, key]) is soft  # no bone series: the largest CT series
    assert choose_series([scout, key]) is None  # a localizer and a capture are nothing to read


@pytest.mark.skipif(not CT_DICOM.is_dir(), reason="shared CT data not present")
def test_a_dicom_folder_is_a_study_source(tmp_path: Path) -> None:
    prepared_series(tmp_path / "pacs" / "a", patient_id="P-77", study_date="20261020", slices=6)
    (tmp_path / "pacs" / "readme.txt").write_text("not dicom", encoding="utf-8")
    service = ImagingService(FolderSource(tmp_path / "pacs"))
    assert service.find_studies("P-77", dt.date(2026, 10, 21)) == []
    assert service.find_studies("P-78", dt.date(2026, 10, 20)) == []
    (study,) = service.find_studies("P-77", dt.date(2026, 10, 20))
    assert (study.study_uid, study.modalities, study.series_count) == (STUDY_UID, ("CT",), 1)
    view = service.open(STUDY_UID)
    assert (view.shown.series_uid, view.slices, view.shown.instances) == (SERIES_UID, 6, 6)
    png = service.image(STUDY_UID, SERIES_UID, "axial", 0, "bone")
    assert png[:4] == b"\x89PNG"
    assert service.image(STUDY_UID, SERIES_UID, "axial", 0, "bone") is png  # cached
    with pytest.raises(StudyError) as missing:
        service.open("2.25.404")
    assert missing.value.code == "NO_SUCH_STUDY"


def test_the_png_cache_is_bounded_by_bytes() -> None:
    from bonepath.imaging.studies import _LRU

    cache = _LRU(100)
    cache.put("a", b"x" * 60, 60)
    cache.put("b", b"y" * 30, 30)
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", b"z" * 30, 30)  # 120 > 100: the least recent (b) goes
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None


class _MemorySource:
    """Datasets in memory, the first (lowest) slice's JPEG 2000 stream broken."""

    name = "memory"

    def __init__(self, folder: Path) -> None:
        import pydicom

        self.datasets = [pydicom.dcmread(f) for f in sorted(folder.iterdir())]
        lowest = min(self.datasets, key=lambda ds: float(ds.ImagePositionPatient[2]))
        lowest.PixelData = b"\xff\x4f\xff\x51" + b"\x00" * 60  # a J2K header and nothing else

    def find_studies(self, *, patient_id: str, study_date: dt.date | None = None) -> list:  # type: ignore[type-arg]
        return []

    def series(self, study_uid: str) -> list[SeriesInfo]:
        from bonepath.imaging.dicom import series_info

        return [series_info(self.datasets[0], len(self.datasets))]

    def load_volume(self, study_uid: str, series_uid: str):  # type: ignore[no-untyped-def]
        raise AssertionError("the service decodes slice by slice")

    def retrieve(self, study_uid: str, series_uid: str) -> list:  # type: ignore[type-arg]
        return self.datasets


@pytest.mark.skipif(not CT_DICOM.is_dir(), reason="shared CT data not present")
def test_slices_decode_one_by_one_and_a_broken_one_is_named_alone(tmp_path: Path) -> None:
    import numpy as np

    from bonepath.imaging.dicom import load_volume
    from bonepath.imaging.render import axial_pixels
    from bonepath.imaging.windows import DEFAULT_WINDOWS

    prepared_series(tmp_path / "s", slices=8)
    expected = load_volume(tmp_path / "s")
    service = ImagingService(_MemorySource(tmp_path / "s"))  # type: ignore[arg-type]
    view = service.open(STUDY_UID)
    assert view.slices == 8
    # the middle slices show while the lowest one cannot be decoded
    assert np.array_equal(
        service.pixels(STUDY_UID, SERIES_UID, "axial", 4, "bone"),
        axial_pixels(expected, 4, DEFAULT_WINDOWS[0]),
    )
    with pytest.raises(StudyError) as broken:
        service.image(STUDY_UID, SERIES_UID, "axial", 0, "bone")
    assert broken.value.code == "CANNOT_DECODE"
    with pytest.raises(StudyError):  # the whole volume (sagittal, export) is refused too
        service.volume(STUDY_UID, SERIES_UID)
