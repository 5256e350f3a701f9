"""The store on SQLite and PostgreSQL: what an import writes, re-imports, replaces and reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text

from bonepath.errors import ConfigError, StoreError
from bonepath.record.model import Record
from bonepath.record.parse import parse_record
from bonepath.store import bulk
from bonepath.store.repository import Store, content_hash, open_store
from bonepath.store.schema import import_batches, patients

from .support import (
    expected_rows_by_patient,
    expected_table_counts,
    stored_rows_by_patient,
    stored_table_counts,
)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url) as opened:
        yield opened


@pytest.fixture
def cohort(make_cohort: Any) -> list[Record]:
    return [parse_record(data) for data in make_cohort(60, seed=7)]


def _changed(record: Record, **fields: Any) -> Record:
    return parse_record({**record.to_json_dict(), **fields})


def _other_smoking(record: Record) -> str:
    """A smoking status different from the record's: a change of content."""
    return "current" if record.smoking is None or record.smoking.value != "current" else "never"


class _Statements:
    """Every SQL statement the store sends (to prove that a re-import writes nothing)."""

    def __init__(self, store: Store) -> None:
        self.seen: list[str] = []
        event.listen(store.engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.seen.append(statement.strip().split()[0].upper())

    @property
    def writes(self) -> list[str]:
        return [verb for verb in self.seen if verb in {"INSERT", "UPDATE", "DELETE", "COPY"}]


def test_import_writes_one_row_per_patient_and_event(store: Store, cohort: list[Record]) -> None:
    result = store.upsert_records(cohort, import_source="cohort.ndjson", chunk_size=25)

    assert (result.imported, result.updated, result.unchanged) == (60, 0, 0)
    assert store.count_patients() == 60
    counts = stored_table_counts(store.engine)
    assert counts == expected_table_counts(cohort)
    assert counts["labs"] == sum(len(record.events.labs) for record in cohort) > 60
    assert stored_rows_by_patient(store.engine) == expected_rows_by_patient(cohort)
    assert len({outcome.pk for outcome in result.outcomes}) == 60


def test_stored_record_reads_back_equal(store: Store, cohort: list[Record]) -> None:
    store.upsert_records(cohort[:10], import_source="a.ndjson")

    assert store.get_record(*cohort[3].key) == cohort[3]
    pk = store.pk_of(*cohort[3].key)
    assert pk is not None
    assert store.get_by_pk(pk) == cohort[3]
    assert store.get_record("synth", "nobody") is None
    assert store.get_by_pk(10_000) is None
    assert list(store.iter_records(batch_size=3)) == cohort[:10]


def test_stored_columns_match_the_record(store: Store, cohort: list[Record]) -> None:
    record = next(
        r for r in cohort if any(lab.unit == "umol/L" for lab in r.events.labs)
    )  # a creatinine in umol/L: value_std is in mg/dL
    store.upsert_records([record], import_source="a.ndjson")
    with store.engine.connect() as conn:
        row = conn.execute(select(patients.c.sex, patients.c.birth_date, patients.c.record)).one()
        table = store.tables["labs"]
        labs = conn.execute(select(table).order_by(table.c.seq)).all()
    assert row.sex == record.sex.value
    assert row.birth_date == record.birth_date
    assert Record.model_validate(row.record) == record
    assert [lab.seq for lab in labs] == list(range(len(record.events.labs)))
    first = record.events.labs[0]
    assert (labs[0].date, labs[0].test, labs[0].value, labs[0].unit) == (
        first.date,
        first.test.value,
        first.value,
        first.unit,
    )
    creatinine = next(lab for lab in labs if lab.test == "creatinine" and lab.unit == "umol/L")
    assert creatinine.value_std == pytest.approx(creatinine.value / 88.4)


def test_every_column_type_reads_back_as_written(store: Store, cohort: list[Record]) -> None:
    # Rows go in by executemany (SQLite) or binary COPY (PostgreSQL); they must read back
    # through SQLAlchemy as the columnar layout wrote them: dates, booleans, ints, floats.
    from bonepath.record.columns import to_columns
    from bonepath.store.schema import RECORD_TABLES

    store.upsert_records(cohort, import_source="a.ndjson")
    pks = {record.key: store.pk_of(*record.key) for record in cohort}
    expected = to_columns((pks[record.key], record) for record in cohort)
    with store.engine.connect() as conn:
        for name, table in RECORD_TABLES.items():
            columns = list(expected[name])
            rows = conn.execute(
                select(*(table.c[column] for column in columns)).order_by(
                    *(table.c[column] for column in columns[:3])
                )
            ).all()
            wanted = sorted(
                zip(*expected[name].values(), strict=True),
                key=lambda row: tuple((value is None, value) for value in row[:3]),
            )
            assert [tuple(row) for row in rows] == wanted, name


def test_reimport_of_identical_data_writes_nothing(store: Store, cohort: list[Record]) -> None:
    store.upsert_records(cohort, import_source="first.ndjson")
    before = store.get_provenance(*cohort[10].key)
    statements = _Statements(store)

    result = store.upsert_records(cohort, import_source="second.ndjson")

    assert (result.imported, result.updated, result.unchanged) == (0, 0, 60)
    assert statements.writes == []
    after = store.get_provenance(*cohort[10].key)
    assert after == before
    assert after is not None and after.import_source == "first.ndjson"


def test_changed_record_replaces_the_old_one_and_keeps_its_pk(
    store: Store, cohort: list[Record]
) -> None:
    store.upsert_records(cohort, import_source="first.ndjson")
    target = next(record for record in cohort if len(record.events.labs) > 2)
    old = store.get_provenance(*target.key)
    assert old is not None
    fewer_labs = [lab.model_dump(mode="json", exclude_none=True) for lab in target.events.labs[:2]]
    smoking = _other_smoking(target)
    changed = _changed(
        target, smoking=smoking, events={**target.to_json_dict()["events"], "labs": fewer_labs}
    )

    result = store.upsert_records([changed], import_source="fix.ndjson")

    assert [(o.status, o.pk) for o in result.outcomes] == [("updated", old.pk)]
    assert store.get_record(*target.key) == changed
    new = store.get_provenance(*target.key)
    assert new is not None
    assert new.content_hash == content_hash(changed) != old.content_hash
    assert new.import_source == "fix.ndjson"
    assert new.imported_at >= old.imported_at
    rows = stored_rows_by_patient(store.engine)
    assert rows[target.key] == expected_rows_by_patient([changed])[changed.key]
    assert rows[target.key]["labs"] == 2
    unchanged = [r for r in cohort if r.key != changed.key]
    assert {k: v for k, v in rows.items() if k != changed.key} == expected_rows_by_patient(
        unchanged
    )
    with store.engine.connect() as conn:
        stored_smoking = conn.execute(
            select(patients.c.smoking).where(patients.c.pk == old.pk)
        ).scalar()
    assert stored_smoking == smoking


def test_failed_update_leaves_the_old_record_whole(
    store: Store, cohort: list[Record], monkeypatch: pytest.MonkeyPatch
) -> None:
    store.upsert_records(cohort[:5], import_source="first.ndjson")
    before_rows = stored_rows_by_patient(store.engine)
    changed = _changed(cohort[1], smoking=_other_smoking(cohort[1]))
    real_insert = bulk.insert_rows

    def failing_insert(conn: Any, table: Any, columns: Any, rows: Any) -> None:
        if table.name == "labs":  # after the old event rows were deleted
            raise RuntimeError("disk full")
        real_insert(conn, table, columns, rows)

    monkeypatch.setattr(bulk, "insert_rows", failing_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        store.upsert_records([changed], import_source="fix.ndjson")

    assert store.get_record(*cohort[1].key) == cohort[1]
    assert stored_rows_by_patient(store.engine) == before_rows


def test_same_patient_twice_in_one_batch_is_written_in_order(
    store: Store, cohort: list[Record]
) -> None:
    first, later = cohort[0], _changed(cohort[0], smoking=_other_smoking(cohort[0]))

    result = store.upsert_records([first, first, later, cohort[1]], import_source="dup.ndjson")

    assert [o.status for o in result.outcomes] == ["imported", "unchanged", "updated", "imported"]
    assert result.outcomes[0].pk == result.outcomes[2].pk
    assert store.count_patients() == 2
    assert store.get_record(*first.key) == later
    assert (
        stored_rows_by_patient(store.engine)[first.key]
        == expected_rows_by_patient([later])[later.key]
    )


def test_same_id_from_two_sources_is_two_patients(store: Store, cohort: list[Record]) -> None:
    other = _changed(cohort[0], source="his-b")

    result = store.upsert_records([cohort[0], other], import_source="two.ndjson")

    assert [o.status for o in result.outcomes] == ["imported", "imported"]
    assert store.count_patients() == 2
    assert store.get_record("his-b", cohort[0].id) == other


def test_delete_patient_removes_its_event_rows(store: Store, cohort: list[Record]) -> None:
    store.upsert_records(cohort[:3], import_source="a.ndjson")

    assert store.delete_patient(*cohort[1].key) is True
    assert store.delete_patient(*cohort[1].key) is False

    assert stored_table_counts(store.engine) == expected_table_counts([cohort[0], cohort[2]])


def test_import_batches_count_what_each_run_did(store: Store, cohort: list[Record]) -> None:
    batch = store.start_batch("run-1")
    store.upsert_records(cohort[:4], import_source="a.ndjson", batch_id=batch, chunk_size=3)
    store.upsert_records(
        [cohort[0], _changed(cohort[1], smoking=_other_smoking(cohort[1]))],
        import_source="b.ndjson",
        batch_id=batch,
    )
    store.finish_batch(batch, refused=2)

    with store.engine.connect() as conn:
        row = conn.execute(select(import_batches).where(import_batches.c.id == batch)).one()
        batch_of_patient = conn.execute(
            select(patients.c.import_batch_id).where(patients.c.id == cohort[3].id)
        ).scalar()
    assert (row.imported, row.updated, row.unchanged, row.refused) == (4, 1, 1, 2)
    assert row.import_source == "run-1"
    assert row.started_at.tzinfo is not None and row.finished_at >= row.started_at
    assert batch_of_patient == batch


def test_imported_at_is_utc_on_both_databases(store: Store, cohort: list[Record]) -> None:
    before = dt.datetime.now(dt.UTC)
    store.upsert_records(cohort[:1], import_source="a.ndjson")
    provenance = store.get_provenance(*cohort[0].key)
    assert provenance is not None
    assert provenance.imported_at.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=1) <= provenance.imported_at <= dt.datetime.now(dt.UTC)


def test_chunk_size_must_be_positive(store: Store, cohort: list[Record]) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        store.upsert_records(cohort, import_source="a", chunk_size=0)


def test_store_in_its_own_postgresql_schema(pg_admin: Any, cohort: list[Record]) -> None:
    from conftest import pg_base_url  # the server the fixtures use

    schema = "bpt_own_schema_" + cohort[0].id.lower()
    try:
        with open_store(pg_base_url(), schema=schema) as store:
            store.upsert_records(cohort[:2], import_source="a.ndjson")
            assert store.count_patients() == 2
        with pg_admin.connect() as conn:
            tables = set(
                conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
                ).scalars()
            )
        assert {"patients", "labs", "imaging_sites", "import_batches", "alembic_version"} <= tables
        with open_store(pg_base_url(), schema=schema) as again:
            assert again.get_record(*cohort[1].key) == cohort[1]
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def test_unusable_urls_and_schemas_are_config_errors(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="unsupported database"):
        open_store("mysql://localhost/x")
    with pytest.raises(ConfigError, match="psycopg"):
        open_store("postgresql+psycopg2://localhost/x")
    with pytest.raises(ConfigError, match="PostgreSQL stores only"):
        open_store(f"sqlite:///{tmp_path / 'x.db'}", schema="s")
    with pytest.raises(ConfigError, match="plain identifier"):
        open_store("postgresql://localhost/x", schema='x"; DROP TABLE patients; --')


def test_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open the store"):
        open_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_database_refusing_a_row_is_a_store_error_and_the_chunk_is_rolled_back(
    store: Store, cohort: list[Record]
) -> None:
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER no_labs BEFORE INSERT ON labs BEGIN SELECT RAISE(ABORT, 'no labs'); END"
            )
        else:  # COPY goes around SQLAlchemy: its driver error must be translated too
            conn.exec_driver_sql("ALTER TABLE labs ADD CONSTRAINT no_labs CHECK (value < 0)")
    with_labs = [record for record in cohort if record.events.labs][:3]

    with pytest.raises(StoreError, match="writing 3 records failed"):
        store.upsert_records(with_labs, import_source="a.ndjson")

    assert store.count_patients() == 0
    assert sum(stored_table_counts(store.engine).values()) == 0
