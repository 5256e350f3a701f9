"""Transactions that read and then write, at the same time as another writer, queue instead of
failing. On SQLite a transaction begun deferred holds a read snapshot; once another connection
has written, SQLite refuses its upgrade to the write lock at once ("database is locked")
without consulting the busy timeout — the 500s of simultaneous logins. ``engine.begin()`` on a
SQLite store therefore begins ``IMMEDIATE``; PostgreSQL never failed here."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, text

from bonepath.store.repository import open_store

WRITERS = 20


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with open_store(db_url) as store:
        with store.engine.begin() as conn:
            conn.execute(text("CREATE TABLE scratch (writer INTEGER NOT NULL, seen INTEGER)"))
        yield store.engine


def _read_then_write(engine: Engine, writer: int) -> None:
    with engine.begin() as conn:
        seen = conn.execute(text("SELECT count(*) FROM scratch")).scalar_one()
        conn.execute(
            text("INSERT INTO scratch (writer, seen) VALUES (:writer, :seen)"),
            {"writer": writer, "seen": seen},
        )


def test_a_write_between_a_read_and_its_write_waits(engine: Engine) -> None:
    read = threading.Event()
    wrote = threading.Event()

    def first() -> None:
        with engine.begin() as conn:
            conn.execute(text("SELECT count(*) FROM scratch")).scalar_one()
            read.set()
            # the second writer commits between this read and this write, if it can; with
            # the write lock held from BEGIN it cannot (it waits), and this one goes first
            wrote.wait(timeout=3)
            conn.execute(text("INSERT INTO scratch (writer) VALUES (1)"))

    def second() -> None:
        read.wait(timeout=30)
        _read_then_write(engine, 2)
        wrote.set()

    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(first), pool.submit(second)]
        for future in done:
            future.result()  # neither raised "database is locked"
    with engine.connect() as conn:
        writers = conn.execute(text("SELECT writer FROM scratch ORDER BY writer")).scalars()
        assert list(writers) == [1, 2]


def test_many_simultaneous_read_then_write_transactions_all_commit(engine: Engine) -> None:
    start = threading.Barrier(WRITERS)

    def write(writer: int) -> None:
        start.wait()
        _read_then_write(engine, writer)

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT writer, seen FROM scratch ORDER BY seen")).all()
    assert sorted(writer for writer, _ in rows) == list(range(WRITERS))
    if engine.dialect.name == "sqlite":  # one writer at a time: each saw all before it
        assert [seen for _, seen in rows] == list(range(WRITERS))
