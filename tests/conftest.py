"""Fixtures shared across the test tree: the two real databases and a synthetic cohort.

Store tests run against SQLite (a temporary file) and PostgreSQL (``BONEPATH_TEST_PG_URL``,
default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Each PostgreSQL test gets a
schema of its own, dropped afterwards, so runs on one server cannot see each other. Without a
reachable server the PostgreSQL cases are skipped locally and fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bonepath.synth import generate_record

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Every local Spark JVM of the test run (in process or a CLI subprocess) gets a 4 GB heap: the
# 5,000-patient differential sits at the edge of the 2 GB default, and whichever test starts
# the JVM first fixes its heap for the worker.
os.environ.setdefault("BONEPATH_SPARK_DRIVER_MEMORY", "4g")
_SESSION = uuid.uuid4().hex[:8]


def pg_base_url() -> str:
    return os.environ.get("BONEPATH_TEST_PG_URL", DEFAULT_PG_URL)


def _pg_unavailable(reason: str) -> None:
    message = f"PostgreSQL at {pg_base_url()} is not reachable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set: PostgreSQL tests must run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Any]:
    """An engine on the PostgreSQL test server (to create and drop test schemas)."""
    engine = create_engine(pg_base_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        _pg_unavailable(str(exc.orig).strip().splitlines()[0])
    yield engine
    with engine.connect() as conn:  # schemas of tests that died before their own teardown
        leftovers = conn.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :prefix"),
            {"prefix": f"bpt_{_SESSION}_%"},
        ).scalars()
        for schema in list(leftovers):
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def pg_schema(pg_admin: Any) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test."""
    schema = f"bpt_{_SESSION}_{uuid.uuid4().hex[:8]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def pg_url_in_schema(schema: str) -> str:
    """The test server's URL with ``search_path`` set to ``schema`` (for subprocesses too)."""
    url = make_url(pg_base_url())
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store URL on each database: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'bonepath.sqlite3'}"
    schema = request.getfixturevalue("pg_schema")
    return pg_url_in_schema(schema)


# ---- a synthetic cohort ------------------------------------------------------------------------


def synthetic_records(count: int, *, seed: int = 0, source: str = "synth") -> list[dict[str, Any]]:
    """Patients ``0 .. count-1`` of the seeded synthetic cohort (`bonepath synth`), as JSON data."""
    records = [generate_record(index, seed) for index in range(count)]
    if source != "synth":
        for record in records:
            record["source"] = source
    return records


@pytest.fixture
def make_cohort() -> Callable[..., list[dict[str, Any]]]:
    """:func:`synthetic_records` as a fixture."""
    return synthetic_records
