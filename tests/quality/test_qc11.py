"""QC-11, chest CT reports that describe the bones (issue 17, docs/quality.md), against
hand-counted values on a small cohort: in Arrow tables, and stored in SQLite and PostgreSQL
(read into DuckDB, and pushed down into PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.population.quality import measure_registry
from bonepath.quality.measures import measure
from bonepath.quality.report import render_html
from bonepath.quality.results import QualityReport
from bonepath.quality.run import compute_quality
from bonepath.record.parse import parse_record
from bonepath.store.repository import open_store
from quality.support import END, START, TODAY, record, tables

DESCRIBED = "双肺多发结节。所见骨质未见明显异常。"
LYTIC = "骨窗示L3椎体溶骨性骨质破坏"
SILENT = "右肺上叶见一肿块，约3.1cm，纵隔淋巴结肿大。"


def _ct(day: str, text: str | None, region: str = "chest", **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"date": day, "modality": "ct", "region": region, **fields}
    if text is not None:
        item["report_text"] = text
    return item


COHORT = [
    # H01 (tier 1-2, general), oncology, chief
    record(
        "a",
        imaging=[
            _ct("2026-02-03", DESCRIBED),  # num
            _ct("2026-03-05", SILENT, region="chest_abdomen"),  # den only
            _ct("2026-04-07", None, bone_window_reviewed=True),  # no report: not counted
            _ct("2026-04-08", DESCRIBED, region="spine"),  # not a chest CT: not counted
            _ct("2025-12-30", DESCRIBED),  # before the period: not counted
        ],
    ),
    # the report counts, whoever recorded the flag: a person's "not reviewed" stays in QC-01
    record("b", imaging=[_ct("2026-03-10", LYTIC, bone_window_reviewed=False)]),  # num
    # H02 (tier 3-4, cancer), respiratory, attending
    record(
        "c",
        hospital="H02",
        title="attending",
        department="respiratory",
        imaging=[_ct("2026-03-15", DESCRIBED), _ct("2026-05-02", SILENT)],  # num, den only
    ),
    record("d", hospital="H02", title="attending", department="respiratory"),  # no CT
]

EXPECTED = {
    None: (3, 5),
    ("hospital", "H01"): (2, 3),
    ("hospital", "H02"): (1, 2),
    ("city_tier", "tier1-2"): (2, 3),
    ("city_tier", "tier3-4"): (1, 2),
    ("hospital_type", "general"): (2, 3),
    ("hospital_type", "cancer"): (1, 2),
    ("department", "oncology"): (2, 3),
    ("department", "respiratory"): (1, 2),
    ("physician_title", "chief"): (2, 3),
    ("physician_title", "attending"): (1, 2),
    ("month", "2026-02"): (1, 1),
    ("month", "2026-03"): (2, 3),
    ("month", "2026-05"): (0, 1),
}


def _qc11(report: QualityReport) -> dict[Any, tuple[int | None, int]]:
    m = report["QC-11"]
    out: dict[Any, tuple[int | None, int]] = {None: (m.numerator, m.denominator)}
    out.update({(s.by, s.value): (s.numerator, s.denominator) for s in m.strata})
    return out


def test_qc11_equals_the_hand_count() -> None:
    assert _qc11(compute_quality(tables(COHORT), START, END)) == EXPECTED


def test_qc11_is_computed_alike_on_every_store_backend(db_url: str) -> None:
    with open_store(db_url) as store:
        store.upsert_records([parse_record(r, today=TODAY) for r in COHORT], import_source="test")
        assert _qc11(measure_registry(store, START, END)) == EXPECTED
        if store.engine.dialect.name == "postgresql":
            assert _qc11(measure_registry(store, START, END, backend="postgres")) == EXPECTED
        h02 = measure_registry(store, START, END, hospitals=["H02"])
        assert (h02["QC-11"].numerator, h02["QC-11"].denominator) == (1, 2)


def test_qc01_and_qc11_differ_where_a_person_recorded_the_flag() -> None:
    report = compute_quality(tables(COHORT), START, END)
    # QC-01: a (report: true; report: false; recorded true), b (recorded false),
    # c (report: true; report: false) -> 3 of 6 chest CTs in the period
    assert (report["QC-01"].numerator, report["QC-01"].denominator) == (3, 6)


def test_qc11_is_documented_with_its_source_and_without_a_radiologist_stratum() -> None:
    m = measure("QC-11")
    assert m.baseline is None
    assert any("将骨窗纳入影像报告质控指标" in str(c) for c in m.sources)
    assert "radiologist" in m.exclusions("en") and "放射科医师" in m.exclusions("zh")


def test_qc11_is_in_the_printable_report_and_the_cli_outputs(tmp_path: Path) -> None:
    report = compute_quality(tables(COHORT), START, END)
    html = render_html(report, "zh")
    assert (
        "QC-11" in html and "胸部CT报告骨骼描述率" in html and "将骨窗纳入影像报告质控指标" in html
    )
    assert "Chest CT reports that describe the bones" in render_html(report, "en")
    url = f"sqlite:///{tmp_path / 'qc11.sqlite3'}"
    with open_store(url) as store:
        store.upsert_records([parse_record(r, today=TODAY) for r in COHORT], import_source="test")
    period = ["--from", START.isoformat(), "--to", END.isoformat()]
    env = {"BONEPATH_DATABASE_URL": url}
    out = CliRunner().invoke(app, ["quality", *period], env=env)
    assert out.exit_code == 0, out.output
    qc11 = next(m for m in json.loads(out.stdout)["measures"] if m["id"] == "QC-11")
    assert (qc11["numerator"], qc11["denominator"], qc11["rate"]) == (3, 5, 0.6)
    table = CliRunner().invoke(
        app, ["quality", *period, "--format", "table", "--lang", "en"], env=env
    )
    assert table.exit_code == 0 and "QC-11" in table.stdout
