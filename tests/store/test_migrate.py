"""Migrations: a fresh store is created at head, and the migrated schema is the declared one."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bonepath.record.columns import TABLES
from bonepath.store import migrate
from bonepath.store.db import create_store_engine, write_transaction
from bonepath.store.repository import open_store
from bonepath.store.schema import NESTED_LISTS, metadata


def test_fresh_store_is_migrated_to_head_with_every_table(db_url: str) -> None:
    with open_store(db_url) as store, store.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        inspector = inspect(conn)
        for name, spec in TABLES.items():
            columns = [column["name"] for column in inspector.get_columns(name)]
            assert columns[: len(spec.columns)] == list(spec.column_names), name
        patient_columns = {column["name"] for column in inspector.get_columns("patients")}
        assert {"record", "content_hash", "imported_at", "import_source"} <= patient_columns
        assert {fk["referred_table"] for fk in inspector.get_foreign_keys("labs")} == {"patients"}
        assert inspector.get_foreign_keys("labs")[0]["options"].get("ondelete") == "CASCADE"
        assert {tuple(ix["column_names"]) for ix in inspector.get_indexes("labs")} == {("date",)}
        assert inspector.get_pk_constraint("labs")["constrained_columns"] == ["pk", "seq"]
        assert {tuple(ix["column_names"]) for ix in inspector.get_indexes("imaging_sites")} == {
            ("pk", "seq")
        }
        assert ("hospital_id",) in {
            tuple(ix["column_names"]) for ix in inspector.get_indexes("patients")
        }


def test_migrated_schema_equals_the_declared_metadata(db_url: str) -> None:
    # Fails when record.columns.TABLES (or schema.py) changes without a new migration.
    with open_store(db_url) as store, store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_upgrade_at_head_is_a_no_op_and_downgrade_empties(db_url: str) -> None:
    store = open_store(db_url)
    assert migrate.upgrade(store.engine) == migrate.head_revision()
    with write_transaction(store.engine) as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    assert migrate.upgrade(store.engine) is None
    assert store.count_patients() == 0
    store.close()


def test_sqlite_file_and_its_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "bonepath.sqlite3"
    with open_store(f"sqlite:///{path}") as store:
        assert store.count_patients() == 0
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    assert path.is_file()


def test_concurrent_first_opens_both_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    errors: list[BaseException] = []

    def open_once() -> None:
        try:
            open_store(url).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = create_store_engine(url)
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
    engine.dispose()


def test_tables_with_several_rows_per_event_are_the_nested_lists() -> None:
    # Every other event table has one row per (pk, seq) and (pk, seq) as its primary key.
    without_date = {name for name, spec in TABLES.items() if "date" not in spec.column_names}
    assert without_date - {"patients", "lesions"} == NESTED_LISTS
