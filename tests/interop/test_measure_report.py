"""FHIR R4 MeasureReport export of the quality indicators: one summary report per measure
with numerator/denominator populations, the rate as measureScore, a stratifier per stratum key,
valid against the fhir.resources R4B models (parsed back), and the CLI's Bundle."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport
from typer.testing import CliRunner

from bonepath.cli.main import app
from bonepath.interop.measure_report import measure_bundle, measure_report
from bonepath.quality.run import compute_quality
from bonepath.record.parse import parse_record
from bonepath.store.repository import open_store
from quality.support import TODAY, confirmed, ct, record, tables, zol

GENERATED = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
START, END = dt.date(2026, 1, 1), dt.date(2026, 10, 31)


def _data() -> list[dict[str, Any]]:
    return [
        record("A", hospital="H01", imaging=[ct("2026-02-01", True), ct("2026-05-01", False)]),
        record("B", hospital="H02", imaging=[ct("2026-03-01", True)], bone=confirmed("2026-03-01"), bta=[zol("2026-03-11")]),
    ]


def _populations(group: dict[str, Any]) -> dict[str, int | None]:
    return {p["code"]["coding"][0]["code"]: p.get("count") for p in group["population"]}


def test_one_summary_report_per_measure_with_counts_score_and_strata() -> None:
    report = compute_quality(tables(_data()), START, END)
    qc01 = measure_report(report["QC-01"], report, generated=GENERATED)
    MeasureReport.model_validate(qc01)  # parses back as R4B
    assert (qc01["status"], qc01["type"], qc01["measure"]) == ("complete", "summary", "urn:bonepath:Measure/QC-01")
    assert qc01["period"] == {"start": "2026-01-01", "end": "2026-10-31"}
    assert qc01["improvementNotation"]["coding"][0]["code"] == "increase"
    group = qc01["group"][0]
    assert group["code"]["coding"][0]["code"] == "QC-01" and group["code"]["text"] == "CT骨窗查看率"
    assert _populations(group) == {"numerator": 2, "denominator": 3}
    assert group["measureScore"]["value"] == round(2 / 3, 6) and group["measureScore"]["code"] == "1"
    by = {s["code"][0]["coding"][0]["code"]: s for s in group["stratifier"]}
    assert set(by) == {"hospital", "city_tier", "hospital_type", "department", "physician_title", "month"}
    tiers = {s["value"]["text"]: s for s in by["city_tier"]["stratum"]}
    assert _populations(tiers["tier3-4"]) == {"numerator": 1, "denominator": 1}
    # small strata are exported and flagged, never dropped
    assert tiers["tier3-4"]["extension"][0]["valueBoolean"] is True
    assert qc01["extension"][0]["valueDecimal"] == 0.59


def test_no_score_when_the_denominator_is_0_or_the_numerator_unknown() -> None:
    report = compute_quality(tables(_data()), START, END)
    qc05 = measure_report(report["QC-05"], report, generated=GENERATED)
    assert "measureScore" not in qc05["group"][0] and "stratifier" not in qc05["group"][0]
    assert _populations(qc05["group"][0]) == {"numerator": 0, "denominator": 0}
    qc08 = measure_report(report["QC-08"], report, generated=GENERATED)
    assert _populations(qc08["group"][0])["numerator"] is None


def test_the_same_measure_and_period_keep_their_id() -> None:
    report = compute_quality(tables(_data()), START, END)
    first = measure_bundle(report, generated=GENERATED)
    again = measure_bundle(report, generated=GENERATED + dt.timedelta(hours=1))
    assert [e["resource"]["id"] for e in first["entry"]] == [e["resource"]["id"] for e in again["entry"]]
    assert len({e["resource"]["id"] for e in first["entry"]}) == 13  # QC-01..QC-12 with QC-03b


def test_cli_fhir_format_prints_a_valid_bundle(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = open_store(url)
    store.upsert_records([parse_record(r, today=TODAY) for r in _data()], import_source="test")
    store.close()
    result = CliRunner().invoke(
        app,
        ["quality", "--from", "2026-01-01", "--to", "2026-10-31", "--format", "fhir"],
        env={"BONEPATH_DATABASE_URL": url},
    )
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.stdout)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    assert [e["resource"]["group"][0]["code"]["coding"][0]["code"] for e in bundle["entry"]][:3] == ["QC-01", "QC-02", "QC-03"]
