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
