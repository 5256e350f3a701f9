"""DICOMweb against a real Orthanc (Debian ``orthanc`` + ``orthanc-dicomweb``) holding the shared
real CT series: QIDO-RS search, series headers, WADO-RS retrieval (JPEG 2000 as stored),
rendering through the imaging service, credentials, and the Secondary Capture key image stored
back into the PACS."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest

from bonepath.imaging.capture import key_image_bytes
from bonepath.imaging.dicom import load_volume
from bonepath.imaging.dicomweb import DicomWebClient, DicomWebConfig, DicomWebError
from bonepath.imaging.render import axial_pixels, sagittal_pixels
from bonepath.imaging.studies import DicomWebSource, ImagingService, StudyError
from bonepath.imaging.windows import DEFAULT_WINDOWS

from .dicom_data import CT_DICOM, SERIES_UID, STUDY_UID, instance_uid, prepared_series
from .orthanc import PASSWORD, USER, Orthanc, available, free_port, running_orthanc

if not available() and os.environ.get("CI"):
    pytest.fail("Orthanc with the DICOMweb plug-in is needed (apt-get install orthanc orthanc-dicomweb)")
pytestmark = pytest.mark.skipif(
    not available() or not CT_DICOM.is_dir(), reason="needs Orthanc + orthanc-dicomweb and the shared CT"
)

BONE = DEFAULT_WINDOWS[0]


@pytest.fixture(scope="module")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    work = tmp_path_factory.mktemp("pacs")
    files = prepared_series(work / "ct", patient_id="IMG-0001", study_date="20260301")
    with running_orthanc(work / "orthanc") as orthanc:
        assert orthanc.upload(files) == 20
        yield orthanc


@pytest.fixture
def client(pacs: Orthanc) -> Iterator[DicomWebClient]:
    with DicomWebClient(DicomWebConfig(pacs.dicomweb, USER, PASSWORD, timeout_s=20)) as c:
        yield c


@pytest.fixture(scope="module")
def local():  # type: ignore[no-untyped-def]
    return load_volume(CT_DICOM)


def test_qido_finds_the_patients_ct_study_by_id_and_day(client: DicomWebClient) -> None:
    found = client.find_studies(patient_id="IMG-0001")
    assert [(s.study_uid, s.study_date, s.modalities) for s in found] == [
        (STUDY_UID, dt.date(2026, 3, 1), ("CT",))
    ]
    assert found[0].accession == "ACC0001"
    assert client.find_studies(patient_id="IMG-0001", study_date=dt.date(2026, 3, 1))
    assert client.find_studies(patient_id="IMG-0001", study_date=dt.date(2026, 3, 2)) == []
    assert client.find_studies(patient_id="SOMEONE-ELSE") == []


def test_series_headers_carry_kernel_and_presets(client: DicomWebClient) -> None:
    (series,) = client.series(STUDY_UID)
    assert series.series_uid == SERIES_UID
    assert series.instances == 20
    assert series.kernels[0] == "Br38f"
    assert [(w.center, w.width) for w in series.windows] == [(40.0, 300.0), (300.0, 1500.0)]
    evidence = series.to_dict()["bone_window"]
    assert evidence == {
        "present": True,
        "reconstruction": False,
        "preset": True,
        "reasons": ["window: WL 300 / WW 1500"],
    }


def test_wado_rs_returns_the_jpeg2000_instances_and_the_same_hu(client: DicomWebClient, local) -> None:  # type: ignore[no-untyped-def]
    datasets = client.retrieve_series(STUDY_UID, SERIES_UID)
    assert len(datasets) == 20
    assert {ds.file_meta.TransferSyntaxUID for ds in datasets} == {pydicom.uid.JPEG2000Lossless}
    volume = client.load_volume(STUDY_UID, SERIES_UID)
    assert volume.shape == (20, 512, 512)
    assert volume.spacing == pytest.approx((2.0, 0.9765625, 0.9765625))
    assert np.array_equal(volume.hu, local.hu)
    assert volume.sop_uids[0] == instance_uid(19)  # lowest slice first (the last file)


def test_the_service_renders_the_bone_window_and_the_spine_reformat(pacs: Orthanc, local) -> None:  # type: ignore[no-untyped-def]
    service = ImagingService(DicomWebSource(DicomWebConfig(pacs.dicomweb, USER, PASSWORD)))
    (study,) = service.find_studies("IMG-0001", dt.date(2026, 3, 1))
    view = service.open(study.study_uid)
    assert (view.shown.series_uid, view.slices, view.columns) == (SERIES_UID, 20, 512)
    assert view.evidence.preset and not view.has_bone_reconstruction
    png = service.image(STUDY_UID, SERIES_UID, "axial", 10, "bone")
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), axial_pixels(local, 10, BONE))
    # the second request for the same image is the cached bytes, not a new render
    assert service.image(STUDY_UID, SERIES_UID, "axial", 10, "bone") is png
    lung = service.image(STUDY_UID, SERIES_UID, "axial", 10, "lung")
    assert lung != png
    sagittal = service.image(STUDY_UID, SERIES_UID, "sagittal", view.spine_column, "bone")
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(sagittal))),
        sagittal_pixels(local, view.spine_column, BONE),
    )
    with pytest.raises(StudyError) as outside:
        service.image(STUDY_UID, SERIES_UID, "axial", 20, "bone")
    assert outside.value.code == "NO_SUCH_IMAGE"
    with pytest.raises(StudyError) as window:
        service.image(STUDY_UID, SERIES_UID, "axial", 1, "brain")
    assert window.value.code == "NO_SUCH_WINDOW"
    assert service.prerender(STUDY_UID, SERIES_UID, "bone") == 20


def test_wrong_credentials_unreachable_pacs_and_bad_uids_are_named(pacs: Orthanc) -> None:
    with DicomWebClient(DicomWebConfig(pacs.dicomweb, USER, "wrong")) as c, pytest.raises(
        DicomWebError
    ) as refused:
        c.find_studies(patient_id="IMG-0001")
    assert refused.value.code == "PACS_AUTH"
    closed = f"http://127.0.0.1:{free_port()}/dicom-web"
    with DicomWebClient(DicomWebConfig(closed, timeout_s=2)) as c, pytest.raises(
        DicomWebError
    ) as unreachable:
        c.find_studies(patient_id="IMG-0001")
    assert unreachable.value.code == "PACS_UNREACHABLE"
    with DicomWebClient(DicomWebConfig(pacs.dicomweb, USER, PASSWORD)) as c:
        with pytest.raises(DicomWebError) as bad:
            c.retrieve_series("1.2/../../tools", SERIES_UID)
        assert bad.value.code == "BAD_UID"
        with pytest.raises(DicomWebError) as missing:
            c.retrieve_series("1.2.3", "4.5.6")
        assert missing.value.code == "PACS_NOT_FOUND"


def test_a_bearer_token_is_sent_instead_of_basic_credentials() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[], headers={"content-type": "application/dicom+json"})

    config = DicomWebConfig("https://pacs.invalid/dicom-web", username="u", password="p", token="t0k")
    with DicomWebClient(config, transport=httpx.MockTransport(answer)) as c:
        assert c.find_studies(patient_id="P1", study_date=dt.date(2026, 3, 1)) == []
    (request,) = seen
    assert request.headers["authorization"] == "Bearer t0k"
    assert request.headers["accept"] == "application/dicom+json"
    assert request.url.path == "/dicom-web/studies"
    assert request.url.params["PatientID"] == "P1"
    assert request.url.params["StudyDate"] == "20260301"
    assert request.url.params["ModalitiesInStudy"] == "CT"


def test_a_key_image_is_secondary_capture_in_the_same_study_and_the_pacs_stores_it(
    pacs: Orthanc, local, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    volume = DicomWebClient(DicomWebConfig(pacs.dicomweb, USER, PASSWORD)).load_volume(
        STUDY_UID, SERIES_UID
    )
    key = key_image_bytes(volume, "axial", 10, BONE, patient_id="IMG-0001", patient_name="张^三")
    ds = pydicom.dcmread(io.BytesIO(key.data))
    assert ds.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert ds.StudyInstanceUID == STUDY_UID and ds.SeriesInstanceUID != SERIES_UID
    assert ds.PatientID == "IMG-0001" and str(ds.PatientName) == "张^三"
    assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == volume.sop_uids[10]
    assert "bone window WW 2000 / WL 500" in ds.DerivationDescription
    assert ds.ConversionType == "WSD" and ds.BurnedInAnnotation == "NO"
    assert np.array_equal(ds.pixel_array, axial_pixels(local, 10, BONE))
    assert key.filename == "key-axial-011-bone.dcm"
    # the real PACS accepts it as an instance of the study
    with pacs.client() as c:
        stored = c.post("/instances", content=key.data)
        assert stored.status_code == 200, stored.text
        assert stored.json()["Status"] == "Success"
    with DicomWebClient(DicomWebConfig(pacs.dicomweb, USER, PASSWORD)) as c:
        kinds = {s.modality for s in c.series(STUDY_UID)}
    assert kinds == {"CT", "OT"}
