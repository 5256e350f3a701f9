"""The cached worklist stays exact: after a write only the written patients are re-evaluated,
and the result equals a fresh evaluation of the whole selection (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from bonepath.api import services
from bonepath.population.registry import evaluate_registry
from bonepath.population.worklist import WorklistFilter
from bonepath.record.parse import parse_record
from bonepath.store.accounts import Principal, Role
from bonepath.store.repository import Store

from .support import AS_OF, due_patient

EVERYONE = Principal(1, "t", Role.CLINICIAN, frozenset({"*"}))
HOSPITAL_A = Principal(2, "a", Role.CLINICIAN, frozenset({"HA"}))


def keys(items: list[services.WorklistItem]) -> list[tuple[object, ...]]:
    return [(i.source, i.patient, i.rule, i.finding.item, i.due, i.finding.values) for i in items]


def _record_the_due_dose(store: Store) -> None:
    """A-DUE's zoledronic acid dose given on AS_OF: its ADH-01 reminder goes."""
    services.record_event(
        store,
        HOSPITAL_A,
        "his",
        "A-DUE",
        "bta",
        {"date": AS_OF.isoformat(), "drug": "zoledronic_acid", "dose_mg": 4.0},
        today=AS_OF,
    )


def test_a_recorded_dose_is_spliced_into_the_cached_worklist(store: Store) -> None:
    cache = services.RegistryCache()
    everything = WorklistFilter()
    _v, before = services.worklist(store, HOSPITAL_A, AS_OF, everything, cache=cache)
    assert ("A-DUE", "ADH-01") in {(i.patient, i.rule) for i in before}
    seen = services.store_generation(store)
    cached = evaluate_registry(store, AS_OF, hospitals=("HA",))
    ranked_before = cached.items()  # ranked: the refresh moves only the written patient's items
    _record_the_due_dose(store)
    now = services.store_generation(store)
    assert now != seen and now.count == seen.count
    spliced = services.refresh_registry(store, cached, seen, now, AS_OF, ("HA",), ())
    assert spliced is not None  # one patient re-evaluated, not the registry
    fresh = evaluate_registry(store, AS_OF, hospitals=("HA",))
    assert keys(spliced.items()) == keys(fresh.items())
    others = [i for i in ranked_before if i.patient != "A-DUE"]
    assert [i for i in spliced.items() if i.patient != "A-DUE"] == others  # untouched, in order
    _v, after = services.worklist(store, HOSPITAL_A, AS_OF, everything, cache=cache)
    assert keys(after) == keys(fresh.items())
    assert ("A-DUE", "ADH-01") not in {(i.patient, i.rule) for i in after}


def test_new_and_moved_patients_follow_the_selection(store: Store) -> None:
    cache = services.RegistryCache()
    services.worklist(store, HOSPITAL_A, AS_OF, WorklistFilter(), cache=cache)
    moved = due_patient("B-ONE", "HA")  # B's patient now treated in hospital A
    added = due_patient("A-NEW", "HA")
    store.upsert_records(
        [parse_record(moved, today=AS_OF), parse_record(added, today=AS_OF)], import_source="t"
    )
    _v, items = services.worklist(store, HOSPITAL_A, AS_OF, WorklistFilter(), cache=cache)
    assert {i.patient for i in items} == {"A-DUE", "A-RENAL", "B-ONE", "A-NEW"}
    assert keys(items) == keys(evaluate_registry(store, AS_OF, hospitals=("HA",)).items())


def test_a_removed_patient_re_evaluates_the_whole_selection(store: Store) -> None:
    cached = evaluate_registry(store, AS_OF)
    seen = services.store_generation(store)
    assert store.delete_patient("his", "A-RENAL")
    now = services.store_generation(store)
    assert services.refresh_registry(store, cached, seen, now, AS_OF, (), ()) is None
    cache = services.RegistryCache()
    _v, items = services.worklist(store, EVERYONE, AS_OF, WorklistFilter(), cache=cache)
    assert "A-RENAL" not in {i.patient for i in items}


def test_one_evaluation_of_every_hospital_serves_each_hospital(store: Store) -> None:
    """After a worklist of every hospital, a hospital's and a department's worklists are cut
    from it (the same evaluation objects, not a second run) and equal their own evaluation;
    a later write to one patient still reaches them."""
    cache = services.RegistryCache()
    services.worklist(store, EVERYONE, AS_OF, WorklistFilter(), cache=cache)
    (everything,) = [registry for _generation, registry in cache._entries.values()]
    _v, for_a = services.worklist(store, HOSPITAL_A, AS_OF, WorklistFilter(), cache=cache)
    assert keys(for_a) == keys(evaluate_registry(store, AS_OF, hospitals=("HA",)).items())
    assert {i.hospital for i in for_a} == {"HA"}
    cut = cache.get((AS_OF, ("HA",), ()))
    assert cut is not None
    shared = {id(e) for e in everything.evaluations}
    assert cut[1].evaluations and all(id(e) in shared for e in cut[1].evaluations)
    department = next(r.department for r in everything.patients if r.department)
    by_department = WorklistFilter(departments={department})
    _v, for_dept = services.worklist(store, EVERYONE, AS_OF, by_department, cache=cache)
    assert for_dept and keys(for_dept) == keys(
        evaluate_registry(store, AS_OF, departments=(department,)).items()
    )
    # another day is not held by any cached evaluation
    assert cache.covering(AS_OF + dt.timedelta(days=1), ("HA",), ()) is None
    _record_the_due_dose(store)
    _v, after = services.worklist(store, HOSPITAL_A, AS_OF, WorklistFilter(), cache=cache)
    assert ("A-DUE", "ADH-01") not in {(i.patient, i.rule) for i in after}
    assert keys(after) == keys(evaluate_registry(store, AS_OF, hospitals=("HA",)).items())


def test_a_cached_selection_covers_only_its_subsets(store: Store) -> None:
    cache = services.RegistryCache()
    services.worklist(store, HOSPITAL_A, AS_OF, WorklistFilter(), cache=cache)
    assert cache.covering(AS_OF, ("HA",), ("oncology",)) is not None
    assert cache.covering(AS_OF, ("HB",), ()) is None
    assert cache.covering(AS_OF, (), ()) is None  # every hospital is more than HA
    assert cache.covering(AS_OF, ("HA", "HB"), ()) is None
    found = cache.covering(AS_OF, ("HA",), ("oncology",))
    assert found is not None
    assert {(r.hospital, r.department) for r in found[1].patients} == {("HA", "oncology")}
