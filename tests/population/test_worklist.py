"""Worklists on a hand-built registry of five patients (tests/population/support.py): each
filter keeps exactly the findings it names, in urgency order, and never changes one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from bonepath.population.registry import KEPT_FILTERS, RegistryEvaluation, evaluate_registry
from bonepath.population.worklist import WorklistFilter, WorklistItem, build_worklist, worklist_json
from bonepath.vocab import FindingKind
from population.support import AS_OF, small_registry_records, stored

Row = tuple[str, str, str]  # source, patient, rule


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryEvaluation]:
    path: Path = tmp_path_factory.mktemp("worklist") / "small.sqlite3"
    with stored(f"sqlite:///{path}", small_registry_records()) as store:
        yield evaluate_registry(store, AS_OF)


def rows(items: list[WorklistItem]) -> list[Row]:
    return [(i.source, i.patient, i.rule) for i in items]


def test_every_finding_is_an_item_most_urgent_first(registry: RegistryEvaluation) -> None:
    items = registry.items()
    # rules 1.1: SCR-02/03 follow the three confirmed patients too (purpose "response")
    assert len(items) == registry.finding_count == 11 + 11 + 14 + 2
    # overdue first, the longest overdue first (then severity): the follow-up scans 113 and
    # 77 days overdue, the CTs 51 days, then the denosumab 37 days overdue (ADH-03 high
    # before ADH-02 medium); then what is due today (SCR-01) and the undated alerts (due now)
    assert rows(items[:12]) == [
        ("his-a", "P0001", "SCR-02"),
        ("his-b", "P0001", "SCR-02"),  # same rule and day: by source, then patient id
        ("his-a", "P0002", "SCR-02"),
        ("his-a", "P0001", "SCR-03"),
        ("his-b", "P0001", "SCR-03"),
        ("his-a", "P0001", "ADH-03"),
        ("his-b", "P0001", "ADH-03"),
        ("his-a", "P0001", "ADH-02"),
        ("his-b", "P0001", "ADH-02"),
        ("his-a", "P0002", "SCR-03"),
        ("his-a", "P0003", "SCR-01"),
        ("his-a", "P0002", "SAFE-05"),
    ]
    # data_needed last, whatever its severity
    tail = [i.kind for i in items[-8:]]
    assert tail == [FindingKind.DATA_NEEDED] * 8
    overdue = [i.days_overdue for i in items if i.days_overdue]
    assert overdue == sorted(overdue, reverse=True)
    # the deceased patient is evaluated and has nothing due
    assert registry.evaluation("his-b", "P0004").findings == ()


def test_kind_filter_keeps_only_that_kind(registry: RegistryEvaluation) -> None:
    items = registry.items(WorklistFilter(kinds={FindingKind.ALERT}))
    assert rows(items) == [
        ("his-a", "P0001", "ADH-02"),  # overdue since 2026-08-24: before what is due now
        ("his-b", "P0001", "ADH-02"),
        ("his-a", "P0002", "SAFE-05"),  # undated alerts are due now; high: hypocalcaemia hold
        ("his-a", "P0002", "SAFE-14"),  # high: CTCAE grade 2
    ]
    assert items[2].finding.values == {
        "drug": "denosumab",
        "corrected_ca": 1.96,
        "ca_unit": "mmol/L",
    }


def test_hospital_filter_keeps_only_its_patients(registry: RegistryEvaluation) -> None:
    items = registry.items(WorklistFilter(hospitals={"H01"}))
    assert {(i.source, i.patient) for i in items} == {("his-a", "P0001"), ("his-a", "P0003")}
    assert len(items) == 11 + 2
    assert {i.hospital for i in items} == {"H01"}


def test_hospital_selection_at_evaluation_equals_filtering_after(
    registry: RegistryEvaluation, tmp_path: Path
) -> None:
    """Evaluating only H02's patients gives H02's items of the whole registry."""
    with stored(f"sqlite:///{tmp_path / 's.sqlite3'}", small_registry_records()) as store:
        h02 = evaluate_registry(store, AS_OF, hospitals={"H02"})
    assert {(p.source, p.id) for p in h02.patients} == {
        ("his-b", "P0001"),
        ("his-a", "P0002"),
        ("his-b", "P0004"),
    }
    assert [i.to_json() for i in h02.items()] == [
        i.to_json() for i in registry.items(WorklistFilter(hospitals={"H02"}))
    ]


def test_due_window_keeps_items_due_by_then_overdue_included(registry: RegistryEvaluation) -> None:
    items = registry.items(WorklistFilter(due_within_days=0))
    assert rows(items) == [
        # rules 1.1: the confirmed patients' follow-up scans and CTs, the longest overdue first
        ("his-a", "P0001", "SCR-02"),
        ("his-b", "P0001", "SCR-02"),
        ("his-a", "P0002", "SCR-02"),
        ("his-a", "P0001", "SCR-03"),
        ("his-b", "P0001", "SCR-03"),
        ("his-a", "P0001", "ADH-03"),  # 37 days overdue: high before medium
        ("his-b", "P0001", "ADH-03"),
        ("his-a", "P0001", "ADH-02"),
        ("his-b", "P0001", "ADH-02"),
        ("his-a", "P0002", "SCR-03"),
        ("his-a", "P0003", "SCR-01"),  # due on AS_OF itself
    ]
    assert all(i.due is not None and i.due <= AS_OF for i in items)


def test_due_window_keeps_undated_items_when_asked(registry: RegistryEvaluation) -> None:
    """Issue 15: "due within N days" dropped every undated item (SAFE within 3650 days: 0);
    with keep_undated the undated alerts and data-needed items stay, after the dated ones."""
    safe = registry.items(WorklistFilter(rules=("SAFE",), due_within_days=3650))
    assert safe == []
    kept = registry.items(WorklistFilter(rules=("SAFE",), due_within_days=3650, keep_undated=True))
    assert kept == registry.items(WorklistFilter(rules=("SAFE",)))
    assert {i.rule for i in kept} >= {"SAFE-05", "SAFE-08"}
    assert (
        WorklistFilter(due_within_days=1).key()
        != WorklistFilter(due_within_days=1, keep_undated=True).key()
    )


def test_due_window_boundary() -> None:
    """Due the day after as-of: outside a 0-day window, inside a 1-day window."""
    registry_item = _scr01_item()
    day_before = dataclasses.replace(registry_item, as_of=AS_OF - dt.timedelta(days=1))
    assert not WorklistFilter(due_within_days=0).accepts(day_before)
    assert WorklistFilter(due_within_days=1).accepts(day_before)
    with pytest.raises(ValueError, match="0 or more"):
        WorklistFilter(due_within_days=-1)


def _scr01_item() -> WorklistItem:
    from bonepath.engine.evaluate import evaluate

    record = next(r for r in small_registry_records() if r.id == "P0003")
    (finding,) = evaluate(record, AS_OF).fired("SCR-01")
    assert finding.due == AS_OF
    return WorklistItem("P0003", "his-a", "H01", "thoracic_surgery", AS_OF, finding)


def test_rule_family_department_and_combined_filters(registry: RegistryEvaluation) -> None:
    adh = registry.items(WorklistFilter(rules=("ADH",)))
    assert sorted(rows(adh)) == sorted(
        [
            *(
                (source, "P0001", rule)
                for source in ("his-a", "his-b")
                for rule in ("ADH-02", "ADH-03", "ADH-04")
            ),
            ("his-a", "P0002", "ADH-04"),
        ]
    )
    assert rows(registry.items(WorklistFilter(rules=("ADH-03",)))) == rows(adh[:2])
    respiratory = registry.items(WorklistFilter(departments={"respiratory"}))
    assert {(i.source, i.patient) for i in respiratory} == {("his-a", "P0002")}
    both = registry.items(
        WorklistFilter(kinds={FindingKind.ACTION}, hospitals={"H02"}, due_within_days=30)
    )
    assert rows(both) == [
        ("his-b", "P0001", "SCR-02"),
        ("his-a", "P0002", "SCR-02"),
        ("his-b", "P0001", "SCR-03"),
        ("his-b", "P0001", "ADH-03"),
        ("his-a", "P0002", "SCR-03"),
    ]


def test_json_document_is_the_interface(registry: RegistryEvaluation) -> None:
    items = build_worklist(registry.items(), WorklistFilter(rules=("ADH-03",), hospitals={"H01"}))
    assert worklist_json(AS_OF, registry.rules_version, items) == {
        "as_of": "2026-09-30",
        "rules_version": registry.rules_version,
        "items": [
            {
                "patient": "P0001",
                "source": "his-a",
                "hospital": "H01",
                "rule": "ADH-03",
                "kind": "action",
                "severity": "high",
                "due": "2026-08-24",
                "values": {"drug": "denosumab", "due": "2026-08-24", "overdue_days": 37},
            }
        ],
    }


def test_items_are_ranked_once_and_filters_keep_that_order(registry: RegistryEvaluation) -> None:
    """A registry ranks its items once (a cached web worklist is paged and filtered many
    times); each filter gives exactly what filtering then sorting from scratch gives, and a
    caller changing the list it got changes nothing for the next caller."""
    first = registry.items()
    first.clear()
    ranked = registry.items()
    assert len(ranked) == registry.finding_count and registry.items() == ranked
    unsorted = list(reversed(ranked))
    for chosen in (
        WorklistFilter(kinds={FindingKind.ACTION}),
        WorklistFilter(hospitals={"H02"}),
        WorklistFilter(rules=("ADH", "SCR-01"), due_within_days=45),
        WorklistFilter(departments={"respiratory"}, kinds={FindingKind.DATA_NEEDED}),
    ):
        kept = registry.items(chosen)
        assert kept and kept == build_worklist(unsorted, chosen)


def test_a_re_ranked_registry_equals_ranking_from_scratch(registry: RegistryEvaluation) -> None:
    """`rank_from`: the cached ranking with some patients' findings changed, one patient gone
    and one moved to another department gives exactly the ranking built from nothing."""
    ranked = registry.items()
    changed = {("his-a", "P0001"), ("his-b", "P0001"), ("his-a", "P0002")}
    refs = [
        dataclasses.replace(ref, department="surgery") if ref.id == "P0002" else ref
        for ref in registry.patients
        if (ref.source, ref.id) != ("his-b", "P0001")  # removed from the store
    ]
    evaluations = [
        dataclasses.replace(e, findings=e.findings[::2])
        if (e.source, e.patient) == ("his-a", "P0001")
        else e
        for e in registry.evaluations
        if (e.source, e.patient) != ("his-b", "P0001")
    ]
    later = RegistryEvaluation(
        registry.days, registry.rules_version, registry.backend, tuple(refs), tuple(evaluations)
    )
    scratch = RegistryEvaluation(
        registry.days, registry.rules_version, registry.backend, tuple(refs), tuple(evaluations)
    )
    later.rank_from(registry, changed)
    assert later.items() == scratch.items()
    assert len(later.items()) < len(ranked)
    assert {i.department for i in later.items() if i.patient == "P0002"} == {"surgery"}
    assert not any(i.source == "his-b" and i.patient == "P0001" for i in later.items())


def test_a_filter_is_applied_once_and_equal_filters_share_it(registry: RegistryEvaluation) -> None:
    """Paging a web worklist asks again and again with one filter: the kept items are
    remembered by the filter's value (sets or tuples alike), a caller changing its list
    changes nothing, and at most KEPT_FILTERS filters are remembered."""
    fresh = RegistryEvaluation(
        registry.days,
        registry.rules_version,
        registry.backend,
        registry.patients,
        registry.evaluations,
    )
    as_set = WorklistFilter(kinds={FindingKind.ACTION}, hospitals={"H01"})
    as_tuple = WorklistFilter(kinds=(FindingKind.ACTION,), hospitals=("H01",))
    assert as_set.key() == as_tuple.key()
    first = fresh.items(as_set)
    assert first and first == build_worklist(registry.items(), as_set)
    first.clear()
    assert fresh.items(as_tuple) == build_worklist(registry.items(), as_set)
    for days in range(KEPT_FILTERS + 3):
        window = WorklistFilter(due_within_days=days)
        assert fresh.items(window) == build_worklist(registry.items(), window)
    assert len(fresh._kept) == KEPT_FILTERS
    assert as_set.key() not in fresh._kept  # the oldest went first


def test_an_mdt_never_held_ranks_as_overdue() -> None:
    """rules 1.1: MDT-01 is due 14 days after its trigger, so an MDT that never happens ranks
    with the overdue items of its severity, ahead of undated ones (it used to move with the day)."""
    from bonepath.engine.evaluate import evaluate
    from bonepath.record.parse import parse_record
    from population.support import TODAY

    data = {
        "format": "bonepath-record/1",
        "id": "M1",
        "source": "his-a",
        "sex": "male",
        "birth_date": "1966-01-01",
        "cancer": {
            "diagnosis_date": "2026-01-10",
            "histology": "adenocarcinoma",
            "stage": "IV",
            "setting": "advanced",
        },
        "bone_metastasis": {
            "status": "confirmed",
            "confirmed_date": "2026-06-01",
            "lesions": [{"site": "femur", "kind": "lytic", "cortical_involvement_pct": 50}],
        },
        "events": {},
    }
    evaluation = evaluate(parse_record(data, today=TODAY), AS_OF)
    items = build_worklist(
        WorklistItem("M1", "his-a", "H01", "oncology", AS_OF, f) for f in evaluation.findings
    )
    high = [(i.rule, i.due) for i in items if i.severity.value == "high"]
    # Mirels 8 (no pain recorded: 2 + 1 + 3 + 2) triggers MDT-01 on the confirmation date:
    # due 2026-06-15 with BTA-01, both long overdue on 2026-09-30, before every undated item
    assert high[:2] == [("BTA-01", dt.date(2026, 6, 15)), ("MDT-01", dt.date(2026, 6, 15))]
    assert high[2:] and all(due is None for _, due in high[2:])


def test_a_critical_item_ranks_above_a_long_overdue_routine_one() -> None:
    """An emergency (RT-05, critical, due tomorrow) comes before a bone scan 100 days overdue:
    the overdue-first order of the nurse's worklist never pushes an emergency down."""
    from bonepath.engine.findings import Finding
    from bonepath.vocab import Severity

    def item(rule: str, severity: Severity, due: dt.date) -> WorklistItem:
        kind = FindingKind.ALERT if rule == "RT-05" else FindingKind.ACTION
        finding = Finding(rule, kind, severity, rule, rule, due, {}, ())
        return WorklistItem("P", "his-a", "H01", None, AS_OF, finding)

    scan = item("SCR-02", Severity.MEDIUM, AS_OF - dt.timedelta(days=100))
    mscc = item("RT-05", Severity.CRITICAL, AS_OF + dt.timedelta(days=1))
    injection = item("ADH-03", Severity.HIGH, AS_OF - dt.timedelta(days=37))
    assert [i.rule for i in build_worklist([scan, injection, mscc])] == ["RT-05", "SCR-02", "ADH-03"]
