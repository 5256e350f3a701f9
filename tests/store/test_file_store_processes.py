"""One SQLite file store shared by separate processes: the real server (`bonepath serve`) and
CLI commands that write and read it while the server runs.

SQLite keeps a file's POSIX locks per process, and a process that closes any descriptor of the
file drops all of them. A second SQLite library in the server (the ADBC driver that reads the
store into Arrow) used to do exactly that after a worklist request: the next CLI process that
closed the store believed itself the last user, checkpointed and deleted the ``-wal`` and
``-shm`` files the server still had open, and from then on the server and the CLI saw
different data (and the file lost index entries). The store is opened by one SQLite library
per process now; this test runs the real processes and checks what the issue saw.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from bonepath.synth import generate_record

PASSWORD = "a long enough password"


def _bonepath(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bonepath", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_cohort(path: Path, source: str, start: int, count: int) -> list[str]:
    """Patients ``start ..`` of the seeded synthetic cohort under ``source``; their ids."""
    records = [
        generate_record(index, 5) | {"source": source} for index in range(start, start + count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return [str(r["id"]) for r in records]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path, str, str]]:
    """(environment, store file, server URL, bearer token): `bonepath serve` in its own
    process on a SQLite file that the CLI created and wrote first."""
    store = tmp_path / "store.sqlite3"
    env = {
        **os.environ,
        "BONEPATH_DATABASE_URL": f"sqlite:///{store}",
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    env.pop("BONEPATH_WORKLIST_WARMUP", None)
    _write_cohort(tmp_path / "first.ndjson", "cli1", 0, 12)
    _bonepath(env, "import", str(tmp_path / "first.ndjson"))
    _bonepath(
        env, "user", "add", "doc", "--role", "clinician", "--hospital", "*", "--password", PASSWORD
    )
    token = _bonepath(env, "user", "token", "doc", "--name", "test").strip()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "bonepath", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                httpx.get(f"{url}/api/me", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "bonepath serve did not start"
                time.sleep(0.1)
        yield env, store, url, token
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            server.kill()
            server.wait(10)
        log.close()


def _companions(store: Path) -> dict[str, bool]:
    return {suffix: Path(f"{store}{suffix}").exists() for suffix in ("-wal", "-shm")}


def _snapshot_ids(env: dict[str, str], out: Path) -> set[tuple[str, str]]:
    """(source, id) of every patient, as a CLI process (`bonepath snapshot`) reads them."""
    _bonepath(env, "snapshot", "--out", str(out))
    patients = pq.read_table(out / "patients.parquet", columns=["source", "id"]).to_pylist()
    return {(row["source"], row["id"]) for row in patients}


@pytest.mark.slow
def test_server_and_cli_processes_share_one_sqlite_file(
    served: tuple[dict[str, str], Path, str, str], tmp_path: Path
) -> None:
    env, store, url, token = served
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth, timeout=300) as api:
        first = api.get("/api/worklist", params={"as_of": "2026-11-01"})
        assert first.status_code == 200, first.text
        assert _companions(store) == {"-wal": True, "-shm": True}

        # a CLI reader opens and closes the store: the server's WAL must survive it
        assert "doc\tclinician\t*" in _bonepath(env, "user", "list")
        assert _companions(store) == {"-wal": True, "-shm": True}

        # a CLI writer while the server runs: the server sees its patients
        second = _write_cohort(tmp_path / "second.ndjson", "cli2", 12, 8)
        _bonepath(env, "import", str(tmp_path / "second.ndjson"))
        for patient in second:
            assert api.get(f"/api/patients/cli2/{patient}").status_code == 200, patient
        again = api.get("/api/worklist", params={"as_of": "2026-11-01"})
        assert again.status_code == 200
        assert {item["source"] for item in again.json()["items"]} >= {"cli1", "cli2"}

        # the server writes (an import through the API, a lab on a CLI patient): the CLI sees it
        third = _write_cohort(tmp_path / "third.ndjson", "web", 20, 6)
        uploaded = api.post(
            "/api/imports",
            files={"file": ("third.ndjson", (tmp_path / "third.ndjson").read_bytes())},
        )
        assert uploaded.status_code == 200, uploaded.text
        lab = api.post(
            f"/api/patients/cli2/{second[0]}/events/labs",
            json={
                "event": {"date": "2026-10-30", "test": "calcium", "value": 2.3, "unit": "mmol/L"}
            },
        )
        assert lab.status_code == 201, lab.text
        seen = _snapshot_ids(env, tmp_path / "snapshot")
        assert {("web", p) for p in third} | {("cli2", p) for p in second} <= seen
        assert _companions(store) == {"-wal": True, "-shm": True}
        assert "doc\tclinician\t*" in _bonepath(env, "user", "list")
        assert _companions(store) == {"-wal": True, "-shm": True}

        # the other way again after all that: a CLI import is served by the server
        fourth = _write_cohort(tmp_path / "fourth.ndjson", "cli3", 26, 4)
        _bonepath(env, "import", str(tmp_path / "fourth.ndjson"))
        for patient in fourth:
            assert api.get(f"/api/patients/cli3/{patient}").status_code == 200, patient
        assert api.get("/api/worklist", params={"as_of": "2026-11-01"}).status_code == 200

        # all at once: a CLI import and CLI readers while the server reads and writes
        fifth = _write_cohort(tmp_path / "fifth.ndjson", "cli4", 30, 10)
        command = [sys.executable, "-m", "bonepath"]
        running = [
            subprocess.Popen([*command, "import", str(tmp_path / "fifth.ndjson")], env=env),
            *(subprocess.Popen([*command, "user", "list"], env=env) for _ in range(2)),
        ]
        for _ in range(3):
            assert api.get("/api/worklist", params={"as_of": "2026-11-01"}).status_code == 200
            assert api.get(f"/api/patients/cli3/{fourth[0]}").status_code == 200
        assert [process.wait(300) for process in running] == [0, 0, 0]
        assert _companions(store) == {"-wal": True, "-shm": True}
        for patient in fifth:
            assert api.get(f"/api/patients/cli4/{patient}").status_code == 200, patient

    # one file, whole, holding what both sides wrote
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        labs: Any = conn.execute(
            "SELECT count(*) FROM labs JOIN patients USING (pk) "
            "WHERE patients.source = 'cli2' AND patients.id = ? AND labs.date = '2026-10-30'",
            (second[0],),
        ).fetchone()
        counts = dict(conn.execute("SELECT source, count(*) FROM patients GROUP BY source"))
    conn.close()
    assert counts == {"cli1": 12, "cli2": 8, "web": 6, "cli3": 4, "cli4": 10}
    assert labs == (1,)
