"""Window presets (the whitepaper's ranges), windowing, the axial image and the sagittal spine
reformat of the shared real CT."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bonepath.imaging.dicom import load_volume
from bonepath.imaging.render import (
    axial_pixels,
    encode_png,
    sagittal_pixels,
    spine_column,
    windowed,
)
from bonepath.imaging.windows import DEFAULT_WINDOWS, Window, WindowSpecError, parse_windows

from .dicom_data import CT_DICOM

BONE = Window("bone", 2000, 500)


def test_default_presets_sit_inside_the_whitepaper_ranges() -> None:
    by_name = {w.name: w for w in DEFAULT_WINDOWS}
    assert (by_name["bone"].width, by_name["bone"].level) == (2000, 500)
    assert (by_name["lung"].width, by_name["lung"].level) == (1500, -600)
    assert (by_name["mediastinum"].width, by_name["mediastinum"].level) == (400, 40)
    assert by_name["bone"].is_bone and not by_name["lung"].is_bone
    assert [w.name for w in DEFAULT_WINDOWS][0] == "bone"


def test_configured_presets_replace_defaults_and_stay_inside_the_ranges() -> None:
    chosen = {w.name: w for w in parse_windows("bone=2500/700, soft=350/50")}
    assert (chosen["bone"].width, chosen["bone"].level) == (2500, 700)
    assert (chosen["soft"].width, chosen["soft"].level) == (350, 50)
    assert (chosen["lung"].width, chosen["lung"].level) == (1500, -600)  # kept
    with pytest.raises(WindowSpecError, match="bone window is WW 2000–3000"):
        parse_windows("bone=1500/300")  # the header preset of the shared series: not the WP's
    with pytest.raises(WindowSpecError, match="lung window"):
        parse_windows("lung=1500/-400")
    with pytest.raises(WindowSpecError, match="name=WW/WL"):
        parse_windows("bone:2000/500")
    with pytest.raises(WindowSpecError, match="numbers"):
        parse_windows("bone=wide/500")


def test_windowing_maps_the_window_edges_to_black_and_white() -> None:
    hu = np.array([[-1000, -500, 500, 1500, 3000]], dtype=np.int16)
    grey = windowed(hu, BONE)  # -500 … 1500 HU
    assert grey.tolist() == [[0, 0, 127, 255, 255]]


@pytest.mark.skipif(not CT_DICOM.is_dir(), reason="shared CT data not present")
def test_axial_and_sagittal_images_of_the_real_ct() -> None:
    volume = load_volume(CT_DICOM)
    axial = axial_pixels(volume, 10, BONE)
    assert axial.shape == (512, 512)
    assert np.array_equal(axial, windowed(volume.hu[10], BONE))
    png = encode_png(axial)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    assert np.array_equal(decoded, axial)

    column = spine_column(volume)
    # the vertebral body of this series spans columns ~225-270; its midline is ~246
    assert 238 <= column <= 256
    sagittal = sagittal_pixels(volume, column, BONE)
    # 20 slices 2 mm apart, 0.977 mm pixels: 41 rows (head up), 512 columns (anterior left)
    assert sagittal.shape == (41, 512)
    # the plane cuts through bone: the vertebral body (rows 310-350) reads as bone, not fat
    plane = volume.hu[:, 310:350, column]
    assert float(np.median(plane)) > 100
    # head up: the first row of the image is the highest slice (index 19)
    top = windowed(volume.hu[19, :, column], BONE)
    assert np.abs(sagittal[0].astype(int) - top.astype(int)).mean() < 8
