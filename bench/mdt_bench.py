"""The MDT module's speed (issue 16): the case summary at referral, and the coordinator's case
board with 1,000 open cases.

1. **Case summary** (``bonepath.mdt.summary.case_summary``): synthetic patients with bone
   metastasis, one summary each, in process, warm. Floor, measured in the same run on the same
   patients: ``evaluate(record, day)``, the point-of-care evaluation the summary is built on (the
   summary reads three more stage tables of the same run and builds its JSON).
2. **Case board**: a store with 1,000 open cases (250 in each open state, one hospital, each
   with a real frozen summary) on SQLite and PostgreSQL; timed: the board service
   (``mdt_service.board``), ``GET /mdt`` (the page, rendered, in process through the ASGI app),
   ``GET /api/mdt/cases`` (JSON). Floor: ``SELECT id, state FROM mdt_cases`` (the rows alone).

    .venv/bin/python bench/mdt_bench.py --summaries 200 --cases 1000 --repeat 15
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from bonepath.api import mdt_service as svc
from bonepath.api.app import create_app
from bonepath.engine.evaluate import evaluate
from bonepath.mdt import OPEN_STATES, CaseState, QuestionType
from bonepath.mdt.summary import case_summary
from bonepath.record.parse import parse_record
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store import mdt as repo
from bonepath.store.accounts import Principal, Role
from bonepath.store.db import write_transaction
from bonepath.store.repository import Store, open_store
from bonepath.synth import generate_record

AS_OF = dt.date(2026, 11, 1)
PASSWORD = "correct horse battery"


def _times(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _stats(ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms  (n = {len(ordered)})"


def bench_summaries(count: int) -> dict[str, Any]:
    records = []
    index = 0
    while len(records) < count:
        data = generate_record(index, 7)
        index += 1
        status = (data.get("bone_metastasis") or {}).get("status")
        if status in ("confirmed", "suspected"):
            records.append(parse_record(data, today=AS_OF))
    evaluate(records[0], AS_OF)
    case_summary(records[0], AS_OF)
    floor, summary = [], []
    for record in records:  # interleaved, so load changes hit both alike
        start = time.perf_counter()
        evaluate(record, AS_OF)
        floor.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        built = case_summary(record, AS_OF)
        summary.append((time.perf_counter() - start) * 1000)
    size = len(repr(built))
    print(f"case summary        {_stats(summary)}")
    print(f"  floor: evaluate   {_stats(floor)}")
    print(f"  (patients with bone metastasis confirmed or suspected; last summary {size} chars)")
    return {"summary": summary, "floor": floor, "records": records}


def seed_cases(store: Store, records: list[Any], cases: int) -> None:
    """``cases`` open cases at hospital H1, 250 per open state, each with a real summary."""
    fixed = []
    for i in range(min(len(records), 50)):
        data = records[i].to_json_dict()
        data.update(id=f"MDT{i:04d}", hospital={"id": "H1", "name": "H1", "city_tier": "tier3-4"})
        fixed.append(parse_record(data, today=AS_OF))
    store.upsert_records(fixed, import_source="bench")
    summaries = [case_summary(r, AS_OF) for r in fixed]
    meeting_id: int | None = None
    with write_transaction(store.engine) as conn:
        for i in range(cases):
            record = fixed[i % len(fixed)]
            state = OPEN_STATES[i % len(OPEN_STATES)]
            case_id = repo.create_case(
                conn,
                patient_source=record.source,
                patient_id=record.id,
                hospital_id="H1",
                question=QuestionType.DIAGNOSIS,
                question_text="",
                triggers=("DX-04",),
                trigger_date=AS_OF - dt.timedelta(days=i % 30),
                due=AS_OF + dt.timedelta(days=(i % 60) - 30),
                referred_to=None,
                summary=summaries[i % len(summaries)],
                created_on=AS_OF,
                created_by="bench",
            )
            if state is not CaseState.PROPOSED:
                if meeting_id is None:
                    meeting_id = repo.create_meeting(
                        conn,
                        host=svc.MeetingHost.HOSPITAL,
                        host_id="H1",
                        date=AS_OF,
                        submission_deadline=AS_OF,
                        title="bench",
                        chair=None,
                        recorder=None,
                        created_by="bench",
                    )
                conn.execute(
                    text("UPDATE mdt_cases SET state = :s, meeting_id = :m WHERE id = :i"),
                    {"s": state.value, "m": meeting_id, "i": case_id},
                )


def bench_board(url: str, label: str, records: list[Any], cases: int, repeat: int) -> None:
    store = open_store(url)
    seed_cases(store, records, cases)
    accounts.create_user(store.engine, "coord", PASSWORD, "mdt_coordinator", ["H1"])
    principal = Principal(1, "coord", Role.MDT_COORDINATOR, frozenset({"H1"}))
    app = create_app(Settings(database_url=url), today=lambda: AS_OF, store=store)
    with TestClient(app) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        client.post(
            "/login", data={"username": "coord", "password": PASSWORD, "csrf_token": token.group(1)}
        )
        shown = client.get("/mdt")
        assert shown.status_code == 200 and shown.text.count("case-card") == cases, (
            shown.status_code
        )

        def floor() -> None:
            with store.engine.connect() as conn:
                conn.execute(text("SELECT id, state FROM mdt_cases")).all()

        def board() -> None:
            columns = svc.board(store, principal)
            assert sum(len(c) for c in columns.values()) == cases

        print(f"{label}: {cases} open cases")
        print(f"  floor: SELECT id, state  {_stats(_times(floor, repeat))}")
        print(f"  board service            {_stats(_times(board, repeat))}")
        print(f"  GET /mdt (page)          {_stats(_times(lambda: client.get('/mdt'), repeat))}")
        print(
            f"  GET /api/mdt/cases       "
            f"{_stats(_times(lambda: client.get('/api/mdt/cases'), repeat))}"
        )
        print(f"  page size {len(shown.content) // 1024} KiB")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--summaries", type=int, default=200)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--pg",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="PostgreSQL URL ('' to skip); a fresh schema is used",
    )
    args = parser.parse_args()
    result = bench_summaries(args.summaries)
    with tempfile.TemporaryDirectory() as tmp:
        bench_board(
            f"sqlite:///{Path(tmp) / 'mdt.sqlite3'}",
            "SQLite",
            result["records"],
            args.cases,
            args.repeat,
        )
    if args.pg:
        import uuid

        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        schema = f"mdtbench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = make_url(args.pg).update_query_dict({"options": f"-csearch_path={schema}"})
            bench_board(
                url.render_as_string(hide_password=False),
                "PostgreSQL",
                result["records"],
                args.cases,
                args.repeat,
            )
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
