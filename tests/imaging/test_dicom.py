"""The DICOM volume loader on the shared real CT (JPEG 2000 lossless as shipped), a JPEG-LS copy,
and the bone-window reading of series headers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEGLSLossless

from bonepath.imaging.dicom import (
    DicomReadError,
    SeriesInfo,
    WindowPreset,
    bone_window_evidence,
    load_volume,
    read_series,
)

from .dicom_data import CT_DICOM, SERIES_UID, STUDY_UID, prepared_series

pytestmark = pytest.mark.skipif(not CT_DICOM.is_dir(), reason="shared CT data not present")


@pytest.fixture(scope="module")
def volume():  # type: ignore[no-untyped-def]
    return load_volume(CT_DICOM)


def test_the_jpeg2000_series_is_a_512_square_hu_volume_feet_first(volume) -> None:  # type: ignore[no-untyped-def]
    assert pydicom.dcmread(next(CT_DICOM.iterdir())).file_meta.TransferSyntaxUID == (
        pydicom.uid.JPEG2000Lossless
    )
    assert volume.shape == (20, 512, 512)
    # 2 mm between slice positions (the slices are 3 mm thick), 0.977 mm pixels
    assert volume.spacing == pytest.approx((2.0, 0.9765625, 0.9765625))
    # slice 0 is the lowest (z = -804.5 mm), ordered along the normal whatever the file order
    assert volume.origin[2] == pytest.approx(-804.5)
    # HU, not stored values: air outside the body is -1024 (intercept applied), bone is dense
    assert volume.hu.dtype == np.int16
    assert volume.hu[10, 5, 5] == -1024
    assert int(volume.hu.max()) > 1000


def test_the_vertebra_reads_as_bone_and_the_liver_as_soft_tissue(volume) -> None:  # type: ignore[no-untyped-def]
    mid = volume.hu[10]
    # the vertebra (T12/L1 level) sits at rows 310-395, columns 215-275 of this series: its
    # cortex is dense bone (> 500 HU), its body trabecular bone (~100-250 HU)
    assert float(np.percentile(mid[310:395, 215:275], 99)) > 500
    assert 80 < float(np.median(mid[320:345, 230:260])) < 250
    # the liver, to the patient's right (image left), is soft tissue (40-150 HU with contrast)
    assert 40 < float(np.median(mid[200:260, 150:200])) < 150


def test_the_header_says_kernel_and_presets_and_the_bone_preset_is_found(volume) -> None:  # type: ignore[no-untyped-def]
    info = volume.info
    assert info.kernels[0] == "Br38f"
    assert info.description == "CT Body 3.0"
    assert [(w.center, w.width) for w in info.windows] == [(40.0, 300.0), (300.0, 1500.0)]
    evidence = bone_window_evidence(info)
    # Br38f is a soft-tissue kernel: no bone reconstruction, but a stored bone preset
    assert evidence.reconstruction is False
    assert evidence.preset is True
    assert evidence.reasons == ("window: WL 300 / WW 1500",)


def _info(description: str = "", kernels: tuple[str, ...] = (), windows=()) -> SeriesInfo:  # type: ignore[no-untyped-def]
    return SeriesInfo("1", "2", "CT", description, kernels, tuple(windows), (), "", "", None, 1)


@pytest.mark.parametrize(
    ("description", "kernels", "expected"),
    [
        ("Bone 1.0", (), True),
        ("胸部CT 骨窗", (), True),
        ("骨算法 1.25mm", (), True),
        ("Osteo", (), True),
        ("Thorax 1.0 B70f", ("B70f",), True),
        ("CT Body", ("Br64",), True),
        ("CT Body", ("BONEPLUS",), True),
        ("Chest", ("FC30",), True),
        ("Chest", ("YC",), True),
        ("CT Body 3.0", ("Br38f", "3"), False),
        ("Standard", ("STANDARD",), False),
        ("Lung 1.0", ("B31f",), False),
        ("Chest", ("FC13",), False),
    ],
)
def test_bone_reconstruction_is_read_from_description_or_kernel(
    description: str, kernels: tuple[str, ...], expected: bool
) -> None:
    assert bone_window_evidence(_info(description, kernels)).reconstruction is expected


def test_a_soft_tissue_preset_alone_is_not_a_bone_window() -> None:
    evidence = bone_window_evidence(_info("Body", ("B31f",), [WindowPreset(40, 400)]))
    assert evidence.present is False
    assert evidence.reasons == ()
    bone = bone_window_evidence(_info("Body", ("B31f",), [WindowPreset(700, 2500)]))
    assert bone.present is True and bone.preset is True and bone.reconstruction is False


def test_a_jpeg_ls_file_decodes_to_the_same_hu(tmp_path: Path, volume) -> None:  # type: ignore[no-untyped-def]
    files = prepared_series(tmp_path / "src", slices=3)
    ds = pydicom.dcmread(files[1])
    stored = ds.pixel_array.copy()
    ds.decompress()
    ds.compress(JPEGLSLossless, stored)
    out = tmp_path / "jls"
    out.mkdir()
    ds.save_as(out / "one.dcm", enforce_file_format=True)
    assert pydicom.dcmread(out / "one.dcm").file_meta.TransferSyntaxUID == JPEGLSLossless
    jls = load_volume(out)
    assert jls.shape == (1, 512, 512)
    # the prepared copy keeps the first three files (the three highest slices: z -766.5 …)
    same = int(np.argmin([abs(volume.origin[2] + 2.0 * k - jls.origin[2]) for k in range(20)]))
    assert np.array_equal(jls.hu[0], volume.hu[same])


def test_a_folder_with_two_series_loads_the_named_one(tmp_path: Path) -> None:
    prepared_series(tmp_path / "a", slices=4)
    other = pydicom.dcmread(CT_DICOM / sorted(p.name for p in CT_DICOM.iterdir())[0])
    other.StudyInstanceUID = STUDY_UID
    other.SeriesInstanceUID = "2.25.99"
    other.SOPInstanceUID = "2.25.98"
    other.save_as(tmp_path / "a" / "other.dcm", enforce_file_format=True)
    (tmp_path / "a" / "notes.txt").write_text("not dicom", encoding="utf-8")
    series = read_series(tmp_path / "a")
    assert [(s.series_uid, s.instances) for s in series] == [(SERIES_UID, 4), ("2.25.99", 1)]
    assert load_volume(tmp_path / "a").shape[0] == 4
    assert load_volume(tmp_path / "a", series_uid="2.25.99").shape[0] == 1
    with pytest.raises(DicomReadError) as err:
        load_volume(tmp_path / "a", series_uid="2.25.1")
    assert err.value.code == "NO_SUCH_SERIES"


def test_a_folder_without_dicom_is_refused_with_a_code(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(DicomReadError) as err:
        load_volume(tmp_path)
    assert err.value.code == "NO_IMAGES"
    with pytest.raises(DicomReadError) as missing:
        load_volume(tmp_path / "nope")
    assert missing.value.code == "NOT_FOUND"
