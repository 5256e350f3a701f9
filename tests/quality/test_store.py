"""The indicators of a stored registry: the same numbers from the store read into Arrow
(SQLite and PostgreSQL) and from the PostgreSQL push-down, hospital scoping, QC-08 from the
reminder service's real ADH-03 tasks, and the candidate pre-filter of the engine facts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bonepath.population.quality import measure_registry, read_registry
from bonepath.population.registry import evaluate_registry
from bonepath.quality.compute import ADH03_CLOSE_REASONS
from bonepath.quality.results import QualityReport
from bonepath.quality.run import compute_quality, units_table
from bonepath.record.parse import parse_record
from bonepath.reminders.model import ADH03_REASONS
from bonepath.reminders.tasks import close_task, list_tasks, sync_tasks
from bonepath.store.repository import Store, open_store
from bonepath.synth import generate_record
from quality.support import TODAY, confirmed, record, tables, zol

START, END = dt.date(2025, 1, 1), dt.date(2026, 10, 31)
SYNTH_AS_OF = dt.date(2026, 10, 31)


def _synthetic(count: int) -> list[dict[str, Any]]:
    return [generate_record(i, 11, SYNTH_AS_OF) for i in range(count)]


def _store(url: str, data: list[dict[str, Any]]) -> Store:
    store = open_store(url)
    store.upsert_records([parse_record(r, today=TODAY) for r in data], import_source="test")
    return store


def _numbers(report: QualityReport) -> dict[str, Any]:
    return {
        m.id: (m.numerator, m.denominator, sorted((s.by, s.value or "", s.numerator, s.denominator) for s in m.strata))
        for m in report.measures
    }


def test_store_backends_agree_with_the_tables_they_hold(db_url: str) -> None:
    data = _synthetic(400)
    expected = _numbers(compute_quality(tables(data), START, END))
    with _store(db_url, data) as store:
        assert _numbers(measure_registry(store, START, END)) == expected
        if store.engine.dialect.name == "postgresql":
            pushed = measure_registry(store, START, END, backend="postgres")
            assert _numbers(pushed) == expected
            scoped = measure_registry(store, START, END, backend="postgres", hospitals=["H01", "H23"])
            assert _numbers(scoped) == _numbers(measure_registry(store, START, END, hospitals=["H01", "H23"]))
    assert expected["QC-01"][1] > 500 and expected["QC-03"][1] > 20


def test_a_hospital_scoped_report_counts_only_that_hospitals_patients(tmp_path: Any) -> None:
    data = _synthetic(300)
    with _store(f"sqlite:///{tmp_path / 's.sqlite3'}", data) as store:
        whole = measure_registry(store, START, END)
        h05 = measure_registry(store, START, END, hospitals=["H05"])
    stratum = whole["QC-01"].stratum("hospital", "H05")
    assert stratum is not None
    assert (h05["QC-01"].numerator, h05["QC-01"].denominator) == (stratum.numerator, stratum.denominator)
    assert {s.value for s in h05["QC-01"].by("hospital")} == {"H05"}
    assert h05.hospitals == ("H05",)


def test_the_close_reasons_are_the_reminder_services_adh03_reasons() -> None:
    assert set(ADH03_CLOSE_REASONS) == {r.value for r in ADH03_REASONS}


def _overdue(pid: str) -> dict[str, Any]:
    # zoledronic acid due 2026-08-29: ADH-03 fires from 2026-09-27 (29 days overdue)
    return record(pid, bone=confirmed("2026-01-20"), bta=[zol("2026-07-04"), zol("2026-08-01")])


def test_qc08_counts_adh03_tasks_closed_with_a_reason_within_7_days(db_url: str) -> None:
    data = [_overdue("called"), _overdue("late"), _overdue("open"), record("other")]
    opened = dt.date(2026, 9, 27)
    with _store(db_url, data) as store:
        sync_tasks(store, evaluate_registry(store, opened), now=dt.datetime(2026, 9, 27, 8, tzinfo=dt.UTC))
        tasks = {t.patient: t for t in list_tasks(store) if t.rule == "ADH-03"}
        assert sorted(tasks) == ["called", "late", "open"]
        close_task(store, tasks["called"].id, "cost", None, "nurse1", now=dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC))
        close_task(store, tasks["late"].id, "cost", None, "nurse1", now=dt.datetime(2026, 10, 10, 9, tzinfo=dt.UTC))
        backends = ["duckdb", "postgres"] if store.engine.dialect.name == "postgresql" else ["duckdb"]
        for backend in backends:
            report = measure_registry(store, dt.date(2026, 1, 1), dt.date(2026, 10, 31), backend=backend)  # type: ignore[arg-type]
            qc08 = report["QC-08"]
            assert (qc08.numerator, qc08.denominator, qc08.note) == (1, 3, None), backend
            # opened 2026-09-27: its 7 days are not over on 2026-09-30, nothing to judge yet
            early = measure_registry(store, dt.date(2026, 1, 1), dt.date(2026, 9, 30), backend=backend)  # type: ignore[arg-type]
            assert (early["QC-08"].numerator, early["QC-08"].denominator) == (0, 0)
        assert "adh03_tasks" in read_registry(store)


def test_candidate_prefilter_gives_the_same_units_as_evaluating_everyone() -> None:
    data = _synthetic(600)
    t = tables(data)
    key = ("measure", "pk", "anchor", "num")

    def rows(table: Any) -> list[tuple[Any, ...]]:
        return sorted(tuple(r[k] for k in key) for r in table.to_pylist())

    assert rows(units_table(t, START, END)) == rows(units_table(t, START, END, everyone=True))


@pytest.mark.parametrize("measure_id", ["QC-07", "QC-09"])
def test_engine_facts_agree_with_the_rules_findings(measure_id: str) -> None:
    """QC-07 is SAFE-08 at the first dose and QC-09 is MDT-01's trigger: evaluating each unit's
    patient with the rule engine on the right day gives the same answer."""
    from bonepath.engine.evaluate import evaluate_many
    from bonepath.record.parse import parse_record as parse

    data = _synthetic(600)
    t = tables(data)
    units = [r for r in units_table(t, START, END).to_pylist() if r["measure"] == measure_id]
    assert len(units) >= 10
    records = {i + 1: parse(r, today=TODAY) for i, r in enumerate(data)}
    pairs = [(records[u["pk"]], u["anchor"]) for u in units]
    evaluations = evaluate_many(pairs)
    for unit, evaluation in zip(units, evaluations, strict=True):
        fired = {f.rule for f in evaluation.findings}
        if measure_id == "QC-07":
            # on the first dose's day SAFE-08 fires exactly when no dental exam preceded it
            assert ("SAFE-08" not in fired) == unit["num"], unit
        else:
            # on the first trigger's day MDT-01 is due unless an MDT was held that day
            if not unit["num"]:
                assert "MDT-01" in fired, unit


def test_qc09_replay_days_each_under_their_own_key_on_every_backend(db_url: str) -> None:
    # severe pain on a strong opioid on 2026-03-01 and again on 2026-07-01, each relieved a
    # month later: the first trigger is 2026-03-01 (an MDT on 2026-03-05 counts) only when each
    # replay day is evaluated with the record as known that day
    def pain(day: str, nrs: int) -> dict[str, object]:
        return {"date": day, "bone_pain": nrs, "pain_sites": ["pelvis"]}

    common: dict[str, Any] = {
        "bone": confirmed("2026-01-20"),
        "medications": [{"date": "2026-02-01", "class": "strong_opioid_long", "action": "start"}],
        "symptoms": [pain("2026-03-01", 8), pain("2026-04-01", 2), pain("2026-07-01", 9), pain("2026-08-01", 2)],
    }
    mdt = [{"date": "2026-03-05", "decision": "放疗", "attendees": ["oncology", "radiotherapy"]}]
    data = [record("discussed", mdt=mdt, **common), record("not-discussed", **common)]
    qc09 = _numbers(compute_quality(tables(data), START, END))["QC-09"][:2]
    assert qc09 == (1, 2)
    with _store(db_url, data) as store:
        assert _numbers(measure_registry(store, START, END))["QC-09"][:2] == qc09
        if store.engine.dialect.name == "postgresql":
            pushed = measure_registry(store, START, END, backend="postgres")
            assert _numbers(pushed)["QC-09"][:2] == qc09
