"""The PostgreSQL push-down's parts all read one snapshot of the store.

Parts run on connections of their own (``workers``); each imports the snapshot the first
connection exported, so a write committed while the registry is being evaluated is seen by no
part — the list is the store as of one moment, as a single transaction would give it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from bonepath.engine.plan import compiled_stages
from bonepath.population.registry import (
    _evaluate_parts_in_snapshot,
    evaluate_registry,
)
from bonepath.rules import load_catalogue
from bonepath.store.repository import Store
from population.support import AS_OF, small_registry_records, stored

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(pg_schema: str) -> Iterator[Store]:
    from conftest import pg_url_in_schema

    store = stored(pg_url_in_schema(pg_schema), small_registry_records())
    yield store
    store.close()


def _patient_keys(store: Store) -> dict[tuple[str, str], int]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT source, id, pk FROM patients")).all()
    return {(source, id_): int(pk) for source, id_, pk in rows}


def test_a_part_reads_the_exported_snapshot_not_a_later_commit(pg_store: Store) -> None:
    keys = _patient_keys(pg_store)
    overdue = keys[("his-a", "P0001")]  # denosumab 37 days overdue on AS_OF: ADH-02/03
    before = evaluate_registry(pg_store, AS_OF, backend="postgres")
    expected = {f.rule for f in before.evaluation("his-a", "P0001").findings}
    assert {"ADH-02", "ADH-03"} <= expected

    with pg_store.engine.connect() as lead:
        lead.execution_options(isolation_level="REPEATABLE READ")
        with lead.begin():
            snapshot = lead.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            # another session deletes the patient and commits while the snapshot is held
            assert pg_store.delete_patient("his-a", "P0001")
            found: Any = _evaluate_parts_in_snapshot(
                pg_store.engine,
                snapshot,
                [(min(keys.values()), max(keys.values()))],
                [AS_OF],
                [],
                compiled_stages("postgres"),
                load_catalogue(),
            )
    [by_pk] = found
    assert {f.rule for f in by_pk[overdue]} == expected
    after = evaluate_registry(pg_store, AS_OF, backend="postgres")
    assert ("his-a", "P0001") not in {(p.source, p.id) for p in after.patients}


def test_parts_on_two_connections_equal_one_part(pg_store: Store) -> None:
    whole = evaluate_registry(pg_store, AS_OF, backend="postgres", workers=1)
    parted = evaluate_registry(pg_store, AS_OF, backend="postgres", chunk_patients=1, workers=2)
    assert len(parted.patients) == 5
    assert [e.to_json() for e in parted.evaluations] == [e.to_json() for e in whole.evaluations]
    assert parted.finding_count == whole.finding_count > 0


def test_parts_and_workers_must_be_positive(pg_store: Store) -> None:
    with pytest.raises(ValueError, match="at least one"):
        evaluate_registry(pg_store, AS_OF, backend="postgres", workers=0, chunk_patients=1)
