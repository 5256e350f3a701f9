"""The candidate-lesion aid in the CT viewer and key images to the MDT case, over HTTP, with a
real Orthanc holding the patient's CT (the shared 20-slice series): the aid runs on the
server in the background, is cached per study, answers as 未经验证的辅助提示 with its measured
accuracy, never writes the record, is audited; the image on screen becomes an attachment of
the patient's open MDT case, shown on the case page."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.support import AS_OF, login
from bonepath.api.app import create_app
from bonepath.store import accounts
from bonepath.store.repository import Store, open_store
from imaging.dicom_data import SERIES_UID, STUDY_UID
from imaging.orthanc import Orthanc

from .imaging_support import (
    CT_KEY,
    CT_PATIENT,
    open_mdt_case,
    pacs_settings,
    pacs_with_ct,
    seed_imaging,
)

PAGE = f"/patients/his/{CT_PATIENT}"
STUDY = {"source": "his", "patient": CT_PATIENT, "study": STUDY_UID, "series": SERIES_UID}


@pytest.fixture(scope="module")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    yield from pacs_with_ct(tmp_path_factory.mktemp("pacs"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'aid.sqlite3'}") as opened:
        seed_imaging(opened)
        yield opened


@pytest.fixture
def client(store: Store, pacs: Orthanc) -> Iterator[TestClient]:
    app = create_app(pacs_settings(str(store.engine.url), pacs), today=lambda: AS_OF, store=store)
    with TestClient(app) as test_client:
        yield test_client


def _open(client: TestClient) -> None:
    response = client.get("/imaging/study", params={**STUDY, "item": CT_KEY})
    assert response.status_code == 200, response.text
    assert response.json()["query"]["study"] == STUDY_UID


def _finished(client: TestClient, csrf: str) -> dict[str, Any]:
    started = client.post("/imaging/aid", data=STUDY, headers={"X-CSRF-Token": csrf})
    assert started.status_code == 200, started.text
    answer: dict[str, Any] = started.json()
    deadline = time.monotonic() + 120
    while answer["state"] == "running":
        assert time.monotonic() < deadline, "the aid did not finish"
        time.sleep(0.2)
        answer = client.get("/imaging/aid", params=STUDY).json()
    return answer


def test_the_aid_answers_as_an_unvalidated_aid_and_never_writes_the_record(
    client: TestClient, store: Store
) -> None:
    csrf = login(client, "doc_a")
    page = client.get(PAGE).text
    assert 'id="ct-aid-button"' in page and "辅助提示（未经验证）" in page
    assert "未经验证的辅助提示" in page
    before = store.get_record("his", CT_PATIENT)
    assert before is not None
    _open(client)
    # nothing is known of a study the aid has not analysed
    assert client.get("/imaging/aid", params=STUDY).status_code == 404

    answer = _finished(client, csrf)
    assert answer["state"] == "done"
    assert answer["never"].startswith("辅助提示从不确认或排除骨转移")
    assert "骨骼分割Dice 0.815" in answer["accuracy"] and "未在患者中验证" in answer["accuracy"]
    candidates = answer["candidates"]
    if candidates:
        assert answer["status"] == f"{len(candidates)}个候选病灶；点击可跳转到其层面。"
    else:
        assert answer["status"] == "辅助提示在所搜索的骨骼中未发现候选病灶。"
    for c in candidates:
        assert c["kind"] in ("lytic", "blastic")
        assert c["kind_label"] == {"lytic": "溶骨性", "blastic": "成骨性"}[c["kind"]]
        assert 0 <= c["slice"] < 20 and c["volume_mm3"] >= 100
        key = client.get(c["key_image"])
        assert key.status_code == 200 and key.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(key.content)).size[0] > 0

    # asked again: the cached answer, no second analysis
    again = client.post("/imaging/aid", data=STUDY, headers={"X-CSRF-Token": csrf}).json()
    assert again["state"] == "done" and again["candidates"] == candidates

    client.get("/lang/en")
    english = client.post("/imaging/aid", data=STUDY, headers={"X-CSRF-Token": csrf}).json()
    assert english["never"].startswith("The aid never confirms or excludes bone metastasis")
    assert "not on patients" in english["accuracy"] and "pelvis, sacrum" in english["accuracy"]
    assert ">Aid hints (unvalidated)</button>" in client.get(PAGE).text
    assert ">Unvalidated aid</h3>" in client.get(PAGE).text

    after = store.get_record("his", CT_PATIENT)
    assert after is not None and after.to_json_dict() == before.to_json_dict()
    rows = accounts.read_audit(store.engine, action="imaging.aid")
    assert [(e.username, (e.detail or "").rsplit("; ", 1)[-1]) for e in rows] == [
        ("doc_a", "done"),
        ("doc_a", "done"),
        ("doc_a", "started"),
    ]


def test_the_aid_is_refused_without_csrf_and_for_another_hospital(client: TestClient) -> None:
    login(client, "doc_a")
    assert client.post("/imaging/aid", data=STUDY).status_code == 403  # no CSRF token
    csrf = login(client, "doc_b")
    refused = client.post("/imaging/aid", data=STUDY, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 404


def test_a_key_image_goes_to_the_open_mdt_case_and_shows_on_its_page(
    client: TestClient, store: Store
) -> None:
    csrf = login(client, "doc_a")
    _open(client)
    form = {**STUDY, "view": "axial", "index": "9", "window": "bone", "csrf_token": csrf}
    # no open case: said in Chinese, nothing attached
    assert 'id="ct-attach-none"' in client.get(PAGE).text
    refused = client.post("/imaging/attach", data=form, follow_redirects=False)
    assert (
        refused.status_code == 303
        and "imaging_problem=NO_OPEN_MDT_CASE" in refused.headers["location"]
    )
    assert "该患者没有进行中的MDT病例" in client.get(refused.headers["location"]).text

    case_id = open_mdt_case(store)
    assert 'id="ct-attach"' in client.get(PAGE).text
    done = client.post("/imaging/attach", data=form, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert "关键图像已附加到MDT病例。" in page and f'href="/mdt/cases/{case_id}"' in page

    case_page = client.get(f"/mdt/cases/{case_id}").text
    assert "CT关键图像：轴位第10层（骨窗 WW 2000 / WL 500）" in case_page
    assert (
        '<img class="attachment-image" src="/imaging/image?source=his&amp;patient=A-CT' in case_page
    )
    assert "index=9" in case_page
    assert [a.action for a in accounts.read_audit(store.engine, action="imaging.attach")] == [
        "imaging.attach"
    ]

    # a radiologist opens images but writes no MDT case
    radiologist = login(client, "rad_a")
    assert 'id="ct-attach"' not in client.get(PAGE).text
    attempt = {**form, "csrf_token": radiologist}
    assert client.post("/imaging/attach", data=attempt).status_code == 403
