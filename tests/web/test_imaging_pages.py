"""The CT panel and its routes over HTTP, with a real Orthanc PACS holding the patient's CT:
the study is found by the patient's id and the CT's day and linked, the images are the rendered
HU of the series, "骨窗已阅" sets the record's flag (SCR-05 closes) with who and when, roles and
hospitals are respected, every step is audited, a key image downloads as Secondary Capture."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.support import AS_OF, login
from bonepath.api.app import create_app
from bonepath.imaging.dicom import load_volume
from bonepath.imaging.render import axial_pixels, sagittal_pixels
from bonepath.imaging.windows import Window
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store import imaging as links
from bonepath.store.repository import Store, open_store
from imaging.dicom_data import CT_DICOM, SERIES_UID, STUDY_UID
from imaging.orthanc import Orthanc

from .imaging_support import CT_KEY, CT_PATIENT, pacs_settings, pacs_with_ct, seed_imaging

BONE = Window("bone", 2000, 500)
PAGE = f"/patients/his/{CT_PATIENT}"


@pytest.fixture(scope="module")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    yield from pacs_with_ct(tmp_path_factory.mktemp("pacs"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Store, str]]:
    url = f"sqlite:///{tmp_path / 'imaging.sqlite3'}"
    with open_store(url) as opened:
        seed_imaging(opened)
        yield opened, url


@pytest.fixture
def client(store: tuple[Store, str], pacs: Orthanc) -> Iterator[TestClient]:
    opened, url = store
    app = create_app(pacs_settings(url, pacs), today=lambda: AS_OF, store=opened)
    with TestClient(app) as test_client:
        yield test_client


def _study(client: TestClient) -> dict[str, object]:
    response = client.get(
        "/imaging/study", params={"source": "his", "patient": CT_PATIENT, "item": CT_KEY}
    )
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def _image(client: TestClient, view: str, index: int, window: str = "bone", who: str = CT_PATIENT):
    return client.get(
        "/imaging/image",
        params={
            "source": "his",
            "patient": who,
            "study": STUDY_UID,
            "series": SERIES_UID,
            "view": view,
            "index": index,
            "window": window,
        },
    )


def test_the_panel_lists_the_ct_and_scr05_is_open(client: TestClient) -> None:
    login(client, "doc_a")
    page = client.get(PAGE).text
    assert 'data-rule="SCR-05"' in page
    row = re.search(r'<tr class="ct-item" data-item="2026-10-20/ct/0">(.*?)</tr>', page, re.S)
    assert row is not None
    assert "2026-10-20" in row.group(1) and "胸部" in row.group(1)
    assert "未记录" in row.group(1)
    assert "显示影像" in row.group(1)
    # the windows in the page's language, the bone window with the whitepaper's values
    assert 'data-window="bone" data-values="WW 2000 / WL 500" data-bone="yes"' in page
    assert ">骨窗</button>" in page and ">肺窗</button>" in page and ">纵隔窗</button>" in page
    assert 'id="ct-review-button" disabled>骨窗已阅</button>' in page
    assert '<script src="/static/imaging.js" defer></script>' in page
    assert client.get("/static/imaging.js").status_code == 200


def test_the_study_is_found_on_the_pacs_linked_and_rendered(
    client: TestClient, store: tuple[Store, str]
) -> None:
    login(client, "doc_a")
    data = _study(client)
    assert data["study_uid"] == STUDY_UID and data["series_uid"] == SERIES_UID
    assert (data["slices"], data["columns"]) == (20, 512)
    assert data["kernels"] == ["Br38f", "3"]
    assert data["bone_window"] == {
        "present": True,
        "reconstruction": False,
        "preset": True,
        "reasons": ["window: WL 300 / WW 1500"],
    }
    assert data["bone_reconstruction_in_study"] is False
    link = links.links_of(store[0].engine, "his", CT_PATIENT)[CT_KEY]
    assert (link.study_uid, link.linked_by, link.reviewed_at) == (STUDY_UID, "auto:doc_a", None)

    local = load_volume(CT_DICOM)
    axial = _image(client, "axial", 7)
    assert axial.status_code == 200 and axial.headers["content-type"] == "image/png"
    assert axial.headers["cache-control"] == "private, max-age=3600"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(axial.content))), axial_pixels(local, 7, BONE))
    column = int(data["spine_column"])  # type: ignore[call-overload]
    sagittal = _image(client, "sagittal", column)
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(sagittal.content))), sagittal_pixels(local, column, BONE)
    )
    assert _image(client, "axial", 20).status_code == 404  # 20 slices: 0-19
    assert _image(client, "coronal", 1).status_code == 422
    opened = accounts.read_audit(store[0].engine, action="imaging.open")
    assert [(e.username, e.patient_id, e.outcome) for e in opened] == [("doc_a", CT_PATIENT, "ok")]
    assert STUDY_UID in (opened[0].detail or "")


def test_another_hospital_sees_neither_the_study_nor_its_images(
    client: TestClient, store: tuple[Store, str]
) -> None:
    login(client, "doc_a")
    _study(client)
    client.cookies.clear()
    login(client, "doc_b")  # hospital HB only
    response = client.get(
        "/imaging/study", params={"source": "his", "patient": CT_PATIENT, "item": CT_KEY}
    )
    assert response.status_code == 404
    assert _image(client, "axial", 3).status_code == 404
    # a patient of HB does not open HA's study either
    assert _image(client, "axial", 3, who="B-ONE").status_code == 404
    denied = accounts.read_audit(store[0].engine, username="doc_b", outcome="denied")
    assert {e.action for e in denied} == {"imaging.open", "imaging.image"}


def test_bone_window_read_closes_scr05_and_records_who_and_when(
    client: TestClient, store: tuple[Store, str]
) -> None:
    csrf = login(client, "doc_a")
    worklist_row = f'data-rule="SCR-05" data-patient="{CT_PATIENT}"'
    assert worklist_row in client.get("/worklist").text
    _study(client)
    form = {"source": "his", "patient": CT_PATIENT, "item": CT_KEY, "csrf_token": csrf}
    # the lung window on screen is no bone-window review
    refused = client.post("/imaging/review", data={**form, "window": "lung"}, follow_redirects=False)
    assert refused.status_code == 303
    assert "imaging_problem=NOT_BONE_WINDOW" in refused.headers["location"]
    page = client.get(refused.headers["location"]).text
    assert "请在骨窗显示时标记骨窗已阅" in page
    assert 'data-rule="SCR-05"' in page
    # without the CSRF token: refused outright
    assert client.post("/imaging/review", data={**form, "csrf_token": "x", "window": "bone"}).status_code == 403

    done = client.post("/imaging/review", data={**form, "window": "bone"}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert 'data-rule="SCR-05"' not in page
    row = re.search(r'<tr class="ct-item" data-item="2026-10-20/ct/0">(.*?)</tr>', page, re.S)
    assert row is not None
    assert re.search(r"骨窗已阅</span>: doc_a（临床医生）\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row.group(1))
    assert "骨窗已标记为已阅。" in page
    assert worklist_row not in client.get("/worklist").text  # and off the worklist
    client.get("/lang/en")
    english = client.get(PAGE).text
    assert re.search(r"Bone window read</span>: doc_a \(Clinician\) \d{4}-\d{2}-\d{2} \d{2}:\d{2}", english)
    assert ">Bone window</button>" in english and ">Sagittal spine reformat</button>" in english

    opened, _url = store
    record = opened.get_record("his", CT_PATIENT)
    assert record is not None
    (ct,) = [i for i in record.events.imaging if i.modality.value == "ct"]
    assert ct.bone_window_reviewed is True
    link = links.links_of(opened.engine, "his", CT_PATIENT)[CT_KEY]
    assert (link.reviewed_by, link.reviewed_role) == ("doc_a", "clinician")
    assert link.reviewed_window == "bone WW 2000 / WL 500"
    rows = accounts.read_audit(opened.engine, action="imaging.bone_window_reviewed")
    assert [(e.username, e.outcome) for e in rows] == [("doc_a", "ok"), ("doc_a", "refused")]
    assert "NOT_BONE_WINDOW" in (rows[1].detail or "")


def test_a_radiologist_may_mark_it_a_nurse_may_not(client: TestClient) -> None:
    csrf = login(client, "nurse_a")
    form = {"source": "his", "patient": CT_PATIENT, "item": CT_KEY, "window": "bone"}
    assert 'id="ct-review-button"' not in client.get(PAGE).text
    assert client.post("/imaging/review", data={**form, "csrf_token": csrf}).status_code == 403
    client.cookies.clear()
    csrf = login(client, "rad_a")
    page = client.get(PAGE).text
    assert 'id="ct-review-button" disabled>骨窗已阅</button>' in page
    assert 'id="form-bta"' not in page  # a radiologist records no doses
    before_link = client.post("/imaging/review", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert "imaging_problem=NO_STUDY_LINKED" in before_link.headers["location"]
    _study(client)
    done = client.post("/imaging/review", data={**form, "csrf_token": csrf}, follow_redirects=False)
    page = client.get(done.headers["location"]).text
    assert "doc_a" not in page.split('id="imaging"')[1].split("</table>")[0]
    assert "rad_a（影像科医师）" in page
    assert 'data-rule="SCR-05"' not in page


def test_a_key_image_downloads_as_secondary_capture_and_is_audited(
    client: TestClient, store: tuple[Store, str]
) -> None:
    login(client, "doc_a")
    _study(client)
    params = {
        "source": "his",
        "patient": CT_PATIENT,
        "study": STUDY_UID,
        "series": SERIES_UID,
        "view": "axial",
        "index": 9,
        "window": "bone",
    }
    response = client.get("/imaging/capture", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/dicom"
    assert 'filename="key-axial-010-bone.dcm"' in response.headers["content-disposition"]
    ds = pydicom.dcmread(io.BytesIO(response.content))
    assert ds.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert (ds.PatientID, str(ds.PatientName), ds.StudyInstanceUID) == (CT_PATIENT, "测试患者", STUDY_UID)
    assert np.array_equal(ds.pixel_array, axial_pixels(load_volume(CT_DICOM), 9, BONE))
    (row,) = accounts.read_audit(store[0].engine, action="imaging.export")
    assert row.username == "doc_a" and ds.SOPInstanceUID in (row.detail or "")
    client.cookies.clear()
    login(client, "rad_a")  # reads and reviews, exports nothing
    assert client.get("/imaging/capture", params=params).status_code == 403


def test_no_study_on_that_day_is_said_in_chinese_and_can_be_linked_by_hand(
    client: TestClient, store: tuple[Store, str]
) -> None:
    opened, _url = store
    from bonepath.record.parse import parse_record

    from .imaging_support import ct_patient

    data = ct_patient()
    data["events"]["imaging"].append({"date": "2026-10-25", "modality": "ct", "region": "chest"})
    opened.upsert_records([parse_record(data, today=AS_OF)], import_source="tests")
    csrf = login(client, "doc_a")
    other = "2026-10-25/ct/0"
    response = client.get("/imaging/study", params={"source": "his", "patient": CT_PATIENT, "item": other})
    assert response.status_code == 404
    assert response.json()["error"] == "NO_STUDY"
    assert response.json()["message"].startswith("PACS上未找到该患者当天的CT检查")
    bad = client.post(
        "/imaging/link",
        data={"source": "his", "patient": CT_PATIENT, "item": other, "study_uid": "1.2.x", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert "imaging_problem=BAD_UID" in bad.headers["location"]
    linked = client.post(
        "/imaging/link",
        data={"source": "his", "patient": CT_PATIENT, "item": other, "study_uid": STUDY_UID, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert linked.status_code == 303
    assert links.links_of(opened.engine, "his", CT_PATIENT)[other].linked_by == "doc_a"
    response = client.get("/imaging/study", params={"source": "his", "patient": CT_PATIENT, "item": other})
    assert response.status_code == 200 and response.json()["study_uid"] == STUDY_UID


def test_without_an_image_source_the_panel_says_so(store: tuple[Store, str]) -> None:
    opened, url = store
    app = create_app(Settings(database_url=url), today=lambda: AS_OF, store=opened)
    with TestClient(app) as client:
        login(client, "doc_a")
        page = client.get(PAGE).text
        # walk of the demo (2026-12): clinicians and nurses read a plain sentence, not the
        # environment variables; the administrator who configures it reads their names
        assert "本院尚未连接影像系统（PACS），请联系管理员。" in page
        assert "BONEPATH_DICOMWEB_URL" not in page and "BONEPATH_DICOM_FOLDER" not in page
        assert 'id="ct-viewer"' not in page
        response = client.get(
            "/imaging/study", params={"source": "his", "patient": CT_PATIENT, "item": CT_KEY}
        )
        assert response.status_code == 503 and response.json()["error"] == "NOT_CONFIGURED"
    for user, plain in (("nurse_a", True), ("admin", False)):
        with TestClient(app) as other:
            login(other, user)
            page = other.get(PAGE).text
            assert ("本院尚未连接影像系统（PACS），请联系管理员。" in page) is plain
            assert ("BONEPATH_DICOMWEB_URL 或 BONEPATH_DICOM_FOLDER" in page) is not plain
