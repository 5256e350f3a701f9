"""A patient with a CT awaiting its bone-window review, and a real Orthanc holding that CT (the
shared TotalSegmentator series, patient id and study date set to match the record), for the
viewer's page and browser tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from api.support import AS_OF, PASSWORD, due_patient, seed
from bonepath.record.parse import parse_record
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import Store
from imaging.dicom_data import CT_DICOM, prepared_series
from imaging.orthanc import PASSWORD as PACS_PASSWORD
from imaging.orthanc import USER as PACS_USER
from imaging.orthanc import Orthanc, available, running_orthanc

CT_PATIENT: Final = "A-CT"
CT_DATE: Final = dt.date(2026, 10, 20)
"""13 days before AS_OF (2026-11-02): within SCR-05's 90-day look-back."""
CT_KEY: Final = "2026-10-20/ct/0"


def ct_patient() -> dict[str, Any]:
    """A-DUE's history, but the latest chest CT (2026-10-20) has no bone-window review:
    SCR-05 fires (QC-01 counts it as a failure) until someone reads the bone window."""
    record = due_patient(CT_PATIENT, "HA")
    record["identity"] = {"name": "测试患者"}
    imaging = [i for i in record["events"]["imaging"] if i["modality"] != "ct"]
    imaging.append({"date": CT_DATE.isoformat(), "modality": "ct", "region": "chest"})
    record["events"]["imaging"] = imaging
    return record


def seed_imaging(store: Store) -> None:
    seed(store)
    store.upsert_records([parse_record(ct_patient(), today=AS_OF)], import_source="tests")
    accounts.create_user(store.engine, "rad_a", PASSWORD, "radiologist", ["HA"])


def open_mdt_case(store: Store) -> int:
    """An MDT case of :data:`CT_PATIENT` submitted by hand by doc_a (question: diagnosis), for
    the key images the viewer attaches."""
    from bonepath.api import mdt_service
    from bonepath.mdt.model import QuestionType
    from bonepath.store.accounts import Principal, Role

    doctor = Principal(
        user_id=1, username="doc_a", role=Role.CLINICIAN, hospitals=frozenset({"HA"})
    )
    case = mdt_service.create_case(
        store,
        doctor,
        "his",
        CT_PATIENT,
        today=AS_OF,
        from_finding=False,
        question=QuestionType.DIAGNOSIS,
        question_text="骨转移待排",
    )
    return case.id


def need_pacs() -> None:
    import os

    if available() and CT_DICOM.is_dir():
        return
    message = "needs Orthanc + orthanc-dicomweb (apt-get install orthanc orthanc-dicomweb) and shared/data"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def pacs_with_ct(work: Path) -> Iterator[Orthanc]:
    """Orthanc holding the CT of :data:`CT_PATIENT` on :data:`CT_DATE`."""
    need_pacs()
    files = prepared_series(
        work / "ct", patient_id=CT_PATIENT, study_date=CT_DATE.strftime("%Y%m%d")
    )
    with running_orthanc(work / "orthanc") as orthanc:
        assert orthanc.upload(files) == len(files)
        yield orthanc


def pacs_settings(database_url: str, orthanc: Orthanc) -> Settings:
    return Settings(
        database_url=database_url,
        dicomweb_url=orthanc.dicomweb,
        dicomweb_username=PACS_USER,
        dicomweb_password=PACS_PASSWORD,
        dicomweb_timeout_s=20,
    )
