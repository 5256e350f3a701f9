"""The report checker in every evaluation (issue 17, clarifications C-28): a CT item's report
text gives the effective bone-window flag when nobody recorded it, and a stated or hedged bone
finding makes its site suspicious (never positive) — in the flattened tables only; the record
stays as typed and a person's value wins."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bonepath.engine.evaluate import evaluate_many
from bonepath.engine.findings import Evaluation
from bonepath.record.columns import TABLES, imaging_derivation, to_columns
from bonepath.record.model import Record
from imaging.report_scenarios import DESCRIBED, PATIENTS, scenarios
from quality.support import record as qc_record
from quality.support import units


@pytest.fixture(scope="module")
def evaluations() -> dict[str, Evaluation]:
    chosen = scenarios()
    results = evaluate_many([(r, day) for _, r, day in chosen])
    return {name: e for (name, _, _), e in zip(chosen, results, strict=True)}


def _rules(e: Evaluation) -> set[str]:
    return {f.rule for f in e.findings}


def _flat(record: Record) -> dict[str, dict[str, list[Any]]]:
    return to_columns([(1, record)])


def test_the_record_stays_as_typed_and_the_tables_carry_the_derived_flag() -> None:
    record = PATIENTS["described"].record()
    assert record.events.imaging[0].bone_window_reviewed is None
    assert (
        "bone_window_reviewed"
        not in record.model_dump(mode="json", exclude_none=True)["events"]["imaging"][0]
    )
    im = _flat(record)["imaging"]
    assert im["bone_window_reviewed"] == [True]
    assert im["bone_window_source"] == ["report"]
    assert im["report_bone_window"] == ["described"]
    assert im["report_evidence"] == ["所见骨质未见明显异常"]


def test_a_persons_value_wins_and_is_marked_recorded() -> None:
    im = _flat(PATIENTS["person_false"].record())["imaging"]
    assert (im["bone_window_reviewed"], im["bone_window_source"]) == ([False], ["recorded"])
    # the checker's reading is kept beside it (QC-11 counts the report itself)
    assert im["report_bone_window"] == ["described"]
    im = _flat(PATIENTS["person_true"].record())["imaging"]
    assert (im["bone_window_reviewed"], im["report_bone_window"]) == ([True], ["not_described"])


def test_a_hedged_t8_lesion_adds_a_suspicious_thoracic_site_row() -> None:
    sites = _flat(PATIENTS["t8_hedged"].record())["imaging_sites"]
    assert sites == {
        "pk": [1],
        "seq": [0],
        "site": ["thoracic_spine"],
        "result": ["suspicious"],
        "source": ["report"],
    }
    assert _flat(PATIENTS["t8_negated"].record())["imaging_sites"]["site"] == []


def test_recorded_sites_are_kept_and_an_abnormal_recorded_site_is_not_repeated() -> None:
    sites = _flat(PATIENTS["scan_plus_recorded"].record())["imaging_sites"]
    # the CT (seq 0) records thoracic_spine positive: the report adds nothing; the scan (seq 1)
    assert list(
        zip(sites["seq"], sites["site"], sites["result"], sites["source"], strict=True)
    ) == [
        (0, "thoracic_spine", None, "recorded"),
        (1, "thoracic_spine", None, "recorded"),
    ]


def test_only_ct_reports_are_read() -> None:
    mri = (
        PATIENTS["described"]
        .drop_events("imaging")
        .mri("2026-06-01", "negative", report_text=DESCRIBED)
    )
    d = imaging_derivation(mri.record().events.imaging[0])
    assert (d.bone_window_reviewed, d.bone_window_source, d.report_bone_window, d.report_sites) == (
        None,
        None,
        None,
        (),
    )


def test_scr05_is_silent_when_the_report_describes_the_bones(
    evaluations: dict[str, Evaluation],
) -> None:
    assert "SCR-05" not in _rules(evaluations["described"])
    assert "SCR-05" not in _rules(evaluations["person_true"])


def test_scr05_fires_when_the_report_says_nothing_about_bone(
    evaluations: dict[str, Evaluation],
) -> None:
    [f] = evaluations["silent"].fired("SCR-05")
    assert f.values == {"exam_date": dt.date(2026, 6, 1)}


def test_a_persons_false_wins_over_the_report(evaluations: dict[str, Evaluation]) -> None:
    assert "SCR-05" in _rules(evaluations["person_false"])


def test_a_hedged_report_finding_makes_the_status_suspected_and_starts_the_dx_rules(
    evaluations: dict[str, Evaluation],
) -> None:
    e = evaluations["t8_hedged"]
    rules = _rules(e)
    # DX-05 (MRI of a suspected spine site) and DX-04 (one uncertain site: biopsy) need the
    # effective status "suspected"; a confirmed status would start BTA-01 and DX-07 would say so
    [dx05] = e.fired("DX-05")
    assert dx05.values == {"site": "thoracic_spine", "modality": "mri"}
    assert e.fired("DX-04")[0].values == {"site": "thoracic_spine", "procedure": "biopsy"}
    assert not rules & {"DX-07", "BTA-01", "VAL-05"}
    assert not _rules(evaluations["t8_negated"]) & {"DX-04", "DX-05"}


def test_a_report_never_confirms_even_beside_a_positive_bone_scan(
    evaluations: dict[str, Evaluation],
) -> None:
    e = evaluations["scan_plus_report"]
    rules = _rules(e)
    assert not rules & {"DX-07", "BTA-01"}
    # the CT's report names the site, so the scan-only DX-01 is answered; the site stays uncertain
    assert "DX-01" not in rules
    assert e.fired("DX-05")[0].values == {"site": "thoracic_spine", "modality": "mri"}
    # a person's positive CT at the site does confirm (DX-07), as before
    [dx07] = evaluations["scan_plus_recorded"].fired("DX-07")
    assert dx07.values == {"confirmed_date": dt.date(2026, 6, 1), "site": "thoracic_spine"}


def _qc_ct(text: str | None, reviewed: bool | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "date": "2026-03-01",
        "modality": "ct",
        "region": "chest",
        "result": "negative",
    }
    if text is not None:
        item["report_text"] = text
    if reviewed is not None:
        item["bone_window_reviewed"] = reviewed
    return item


def test_qc01_counts_a_ct_whose_report_describes_the_bones_as_reviewed() -> None:
    data = [
        qc_record("from_report", imaging=[_qc_ct(DESCRIBED)]),
        qc_record("silent_report", imaging=[_qc_ct("右肺上叶见一肿块。")]),
        qc_record("person_false", imaging=[_qc_ct(DESCRIBED, reviewed=False)]),
        qc_record("nothing", imaging=[_qc_ct(None)]),
    ]
    assert units(data, "QC-01") == {
        "from_report": True,
        "silent_report": False,
        "person_false": False,
        "nothing": False,
    }


def test_the_layout_names_the_new_columns() -> None:
    assert TABLES["imaging"].column_names[-3:] == (
        "bone_window_source",
        "report_bone_window",
        "report_evidence",
    )
    assert TABLES["imaging_sites"].column_names == ("pk", "seq", "site", "result", "source")
