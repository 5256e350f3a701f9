"""QC-11 by reading radiologist (issue 17 item 1, docs/quality.md QC-11): the reader is the
linked DICOM study's NameOfPhysiciansReadingStudy (0008,1060) kept on the link row; hand-counted
values on a small store (SQLite and PostgreSQL), the header read from a real CT, the dashboard
and the printable report."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pydicom

from bonepath.imaging.studies import FolderSource, ImagingService
from bonepath.population.qc11_readers import qc11_by_reader, with_readers
from bonepath.population.quality import measure_registry
from bonepath.quality.report import render_html
from bonepath.record.parse import parse_record
from bonepath.store import imaging as links
from bonepath.store.repository import open_store
from imaging.dicom_data import STUDY_UID, prepared_series
from quality.support import END, START, TODAY, record

DESCRIBED = "双肺多发结节。所见骨质未见明显异常。"
LYTIC = "骨窗示L3椎体溶骨性骨质破坏"
SILENT = "右肺上叶见一肿块，约3.1cm，纵隔淋巴结肿大。"


def _ct(day: str, text: str | None, region: str = "chest") -> dict[str, Any]:
    item: dict[str, Any] = {"date": day, "modality": "ct", "region": region}
    if text is not None:
        item["report_text"] = text
    return item


COHORT = [
    record(
        "a",
        imaging=[
            _ct("2026-02-03", DESCRIBED),  # 2026-02-03/ct/0 王丽: described
            _ct("2026-02-03", DESCRIBED, region="spine"),  # ct/1: not a chest CT
            _ct("2026-02-03", SILENT),  # ct/2 王丽: not described
            _ct("2026-03-05", SILENT, region="chest_abdomen"),  # linked, header names no reader
            _ct("2026-04-07", None),  # linked 王丽, no report: not counted
            _ct("2025-12-30", DESCRIBED),  # linked 王丽, before the period
        ],
    ),
    record("b", imaging=[_ct("2026-03-10", LYTIC)]),  # Zhang Wei: described
    record(
        "c",
        hospital="H02",
        imaging=[_ct("2026-03-15", DESCRIBED), _ct("2026-05-02", SILENT)],  # Zhang Wei; unlinked
    ),
]

LINKS = [  # (patient, item key, reader)
    ("a", "2026-02-03/ct/0", "王丽"),
    ("a", "2026-02-03/ct/2", "王丽"),
    ("a", "2026-03-05/ct/0", None),
    ("a", "2026-04-07/ct/0", "王丽"),
    ("a", "2025-12-30/ct/0", "王丽"),
    ("b", "2026-03-10/ct/0", "Zhang Wei"),
    ("c", "2026-03-15/ct/0", "Zhang Wei"),
]

# (reader, reports, describing the bones), hand-counted
EVERY = [("Zhang Wei", 2, 2), ("王丽", 2, 1), (None, 2, 0)]
H01 = [("Zhang Wei", 1, 1), ("王丽", 2, 1), (None, 1, 0)]
H02 = [("Zhang Wei", 1, 1), (None, 1, 0)]


def _rows(found: list[Any]) -> list[tuple[str | None, int, int]]:
    return [(r.reader, r.reports, r.described) for r in found]


def _seed(store: Any) -> None:
    store.upsert_records([parse_record(r, today=TODAY) for r in COHORT], import_source="test")
    for i, (pid, key, reader) in enumerate(LINKS):
        links.link_study(store.engine, "test", pid, key, f"2.25.{i + 1}", reading_physician=reader)


def test_qc11_by_reader_equals_the_hand_count(db_url: str) -> None:
    with open_store(db_url) as store:
        _seed(store)
        assert _rows(qc11_by_reader(store.engine, START, END)) == EVERY
        assert _rows(qc11_by_reader(store.engine, START, END, ["H01"])) == H01
        assert _rows(qc11_by_reader(store.engine, START, END, ["H02"])) == H02
        # the readers' rows add up to QC-11 of the registry pass
        qc11 = measure_registry(store, START, END)["QC-11"]
        assert (qc11.numerator, qc11.denominator) == (3, 6)
        # the period: February only holds 王丽's two
        feb = qc11_by_reader(store.engine, dt.date(2026, 2, 1), dt.date(2026, 2, 28))
        assert _rows(feb) == [("王丽", 2, 1)]
        assert feb[0].share == 0.5


def test_opening_a_study_keeps_its_reader_and_a_new_study_clears_it(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as store:
        _seed(store)
        engine = store.engine
        key = "2026-05-02/ct/0"
        links.link_study(engine, "test", "c", key, "2.25.90")
        assert links.note_reading_physician(engine, "test", "c", key, "2.25.90", " 李强 ")
        assert not links.note_reading_physician(engine, "test", "c", key, "2.25.90", "李强")
        assert not links.note_reading_physician(engine, "test", "c", key, "2.25.91", "赵六")
        assert links.links_of(engine, "test", "c")[key].reading_physician == "李强"
        rows = _rows(qc11_by_reader(engine, START, END, ["H02"]))
        assert rows == [("Zhang Wei", 1, 1), ("李强", 1, 0)]
        links.link_study(engine, "test", "c", key, "2.25.91")  # another study: reader unknown
        assert links.links_of(engine, "test", "c")[key].reading_physician is None


def test_the_reader_is_read_from_the_dicom_header_not_the_operator(tmp_path: Path) -> None:
    files = prepared_series(tmp_path / "pacs" / "a", slices=4)
    for f in files:  # the shared CT names no reader: write one (and an operator) into the copy
        ds = pydicom.dcmread(f)
        ds.SpecificCharacterSet = "GB18030"  # as Chinese consoles write names
        ds.NameOfPhysiciansReadingStudy = ["Wang^Li=王^丽", "Chen^Jing"]
        ds.PerformingPhysicianName = "Tech^One"
        ds.OperatorsName = "Tech^Two"
        ds.save_as(f, enforce_file_format=True)
    view = ImagingService(FolderSource(tmp_path / "pacs")).open(STUDY_UID)
    assert view.shown.reading_physicians == ("王丽", "Chen Jing")
    assert view.reading_physician == "王丽"
    # a header with only the operator and the performing physician names no reader
    other = prepared_series(tmp_path / "pacs2" / "a", slices=4)
    for f in other:
        ds = pydicom.dcmread(f)
        ds.PerformingPhysicianName = "Tech^One"
        ds.OperatorsName = "Tech^Two"
        ds.save_as(f, enforce_file_format=True)
    assert ImagingService(FolderSource(tmp_path / "pacs2")).open(STUDY_UID).reading_physician is None


def test_the_printable_report_shows_qc11_by_reader(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'p.db'}") as store:
        _seed(store)
        report = with_readers(measure_registry(store, START, END), store.engine)
    assert report.to_json()["qc11_by_reader"][2] == {
        "reader": None,
        "reports": 2,
        "described": 0,
        "share": 0.0,
    }
    zh = render_html(report, "zh")
    assert "QC-11 按阅片医师" in zh
    assert '<tr data-reader="王丽"><td>王丽</td><td class="n">2</td><td class="n">1</td><td class="n">50.0%</td></tr>' in zh
    assert "<td>未关联影像（无阅片医师）</td>" in zh
    # the definitions cite sources as a reader knows them (issue 15 item 5), not seed files
    assert "《白皮书》" in zh and "000_" not in zh and "[S]" not in zh
    en = render_html(report, "en")
    assert "QC-11 by reading radiologist" in en and "No linked study (no reader)" in en
    bare = render_html(dataclasses.replace(report, qc11_readers=None), "zh")
    assert 'id="qc11-readers"' in zh and 'id="qc11-readers"' not in bare  # no table, no section


def test_the_dashboard_shows_qc11_by_reader_in_the_callers_hospitals(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.support import PASSWORD, login
    from bonepath.api.app import create_app
    from bonepath.settings import Settings
    from bonepath.store import accounts

    url = f"sqlite:///{tmp_path / 'd.db'}"
    with open_store(url) as store:
        _seed(store)
        accounts.create_user(store.engine, "qm_h2", PASSWORD, "quality_manager", ["H02"])
        app = create_app(Settings(database_url=url), today=lambda: TODAY, store=store)
        with TestClient(app) as client:
            login(client, "qm_h2")
            page = client.get("/quality", params={"from": "2026-01-01", "to": "2026-10-31"})
            assert page.status_code == 200
            section = page.text.split('id="quality-qc11-readers"')[1].split("</section>")[0]
            assert "QC-11 按阅片医师" in section
            assert '<tr data-reader="Zhang Wei"><td>Zhang Wei</td><td class="num">1</td><td class="num">1</td><td class="num">100.0%</td></tr>' in section
            assert "<td>未关联影像（无阅片医师）</td>" in section
            assert "王丽" not in section  # H01's reader is outside this manager's hospitals
            client.get("/lang/en")
            english = client.get("/quality", params={"from": "2026-01-01", "to": "2026-10-31"})
            assert "QC-11 by reading radiologist" in english.text
            assert "No linked study (no reader)" in english.text

