"""A bulk write killed mid-transaction (SIGKILL inside the ``COPY`` / ``executemany`` of a
chunk) leaves the store exactly as before that chunk, on SQLite and PostgreSQL; running the
same batch again ends with exactly the source's rows (issue 19).

The batch mixes the three outcomes of an import — patients already stored with the same
content (unchanged), with other content (updated: their old event rows are deleted in the
same transaction) and new ones — so the kill lands after deletes, an update and inserts.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from bonepath.record.columns import TABLE_NAMES
from bonepath.record.parse import parse_record
from bonepath.store.db import create_store_engine
from bonepath.store.repository import content_hash, open_store
from store.support import expected_rows_by_patient, stored_rows_by_patient

KILL_WRITER = Path(__file__).with_name("kill_writer.py")


def _every_row(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every record table (provenance included), sorted: the store's whole state."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name in TABLE_NAMES:
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            out[name] = sorted(tuple(map(repr, row)) for row in rows)
    return out


def _hashes(engine: Engine) -> dict[tuple[str, str], str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source, id, content_hash FROM patients"))
        return {(source, id_): digest for source, id_, digest in rows}


def _write(
    url: str, path: Path, chunk_size: int, kill_table: str | None = None, *, via: str = "records"
) -> Any:
    command = [sys.executable, str(KILL_WRITER), url, str(path), str(chunk_size)]
    if kill_table is not None:
        command.append(kill_table)
    if via == "import":
        command.append("--import")
    return subprocess.run(command, capture_output=True, check=False, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("via", ["records", "import"])
def test_a_write_killed_inside_its_bulk_copy_leaves_the_store_as_before(
    db_url: str, tmp_path: Path, make_cohort: Any, via: str
) -> None:
    """``via``: :meth:`Store.upsert_records`, or ``bonepath import``'s path (the fast path,
    the chunk written by the importer's writing thread, which is the one killed)."""
    kill_table = "labs"  # written after patients, lesions, imaging…: mid-transaction
    before = make_cohort(120, seed=11)
    changed = make_cohort(80, seed=12)[40:80]  # same ids as before[40:80], other content
    batch = [*before[:40], *changed, *make_cohort(160, seed=11)[120:160]]
    assert {r["id"] for r in changed} <= {r["id"] for r in before}
    path = tmp_path / "batch.ndjson"
    path.write_bytes(b"".join(orjson.dumps(item) + b"\n" for item in batch))

    with open_store(db_url) as store:
        store.upsert_records([parse_record(r) for r in before], import_source="before")
    engine = create_store_engine(db_url)
    try:
        state_before = _every_row(engine)
        assert state_before[kill_table], "the kill must land in a table the batch writes"

        killed = _write(db_url, path, chunk_size=len(batch), kill_table=kill_table, via=via)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert _every_row(engine) == state_before  # nothing of the cut-off chunk remains

        done = _write(db_url, path, chunk_size=len(batch), via=via)
        assert done.returncode == 0, done.stderr
        assert orjson.loads(done.stdout) == [40, 40, 40]  # imported, updated, unchanged
        source = [*before[40:], *batch]  # the newest content of every key, as the source says
        records = {r.key: r for r in (parse_record(data) for data in source)}
        assert stored_rows_by_patient(engine) == expected_rows_by_patient(records.values())
        assert _hashes(engine) == {key: content_hash(r) for key, r in records.items()}
    finally:
        engine.dispose()
