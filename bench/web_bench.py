"""Latency of the web application over HTTP (uvicorn on a free port, real HTTP client).

Seeds an SQLite store with the synthetic cohort (default 2,000 patients, the demo's size),
creates a clinician who sees every hospital, logs in and times: the first worklist of a day
(the registry evaluated), the same worklist again (cached until a write), a patient page, a
dose safety check (would-be record evaluated), recording a lab (validated + upserted), and
exporting the whole worklist as CSV and as Excel; a nurse's filtered worklist (page and JSON
API) and the quality pages (dashboard, one hospital, printable report; first and cached).

    .venv/bin/python bench/web_bench.py --patients 2000 --repeat 20
    # 100,000 patients: seed a store once (minutes), then time against it as often as needed
    .venv/bin/python bench/web_bench.py --patients 100000 --store /tmp/bp100k.sqlite3 --build-only
    .venv/bin/python bench/web_bench.py --patients 100000 --store /tmp/bp100k.sqlite3 --repeat 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2 as httpx
import uvicorn

from bonepath.api.app import create_app
from bonepath.interop.importer import import_paths
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import open_store
from bonepath.synth import CohortSpec, write_cohort

AS_OF = dt.date(2026, 11, 1)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_in(client: httpx.Client, username: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    client.post(
        "/login",
        data={
            "username": username,
            "password": "bench password",
            "csrf_token": token.group(1),
            "next": "/patients",
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--store",
        type=Path,
        help="keep the seeded SQLite store here and reuse it on the next run (skips the import)",
    )
    parser.add_argument("--build-only", action="store_true", help="seed --store, time nothing")
    parser.add_argument(
        "--no-xlsx", action="store_true", help="skip the Excel export (≈ 24 s at 100,000)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.store or Path(tmp) / "bench.sqlite3"
        url = f"sqlite:///{path}"
        fresh = not path.exists()
        store = open_store(url)
        if fresh:
            cohort = Path(tmp) / "cohort.ndjson"
            write_cohort(CohortSpec(patients=args.patients, seed=2024, as_of=AS_OF), cohort)
            import_paths(store, [cohort], today=AS_OF)
            accounts.create_user(store.engine, "bench", "bench password", "clinician", ["*"])
            accounts.create_user(
                store.engine, "bench_qm", "bench password", "quality_manager", ["*"]
            )
        if args.build_only:
            store.close()
            return
        app = create_app(Settings(database_url=url), today=lambda: AS_OF, store=store)
        port = _port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="error")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=1200) as client,
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=1200) as quality,
        ):
            _log_in(client, "bench")
            _log_in(quality, "bench_qm")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/patients").text)
            assert csrf is not None
            headers = {"X-CSRF-Token": csrf.group(1)}
            patient = "/patients/synth/S0000006"

            def timed(method: str, path: str, **kwargs: object) -> float:
                start = time.perf_counter()
                response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
                assert response.status_code < 400, (path, response.status_code)
                took = time.perf_counter() - start
                sys.stderr.write(f"{path}: {took * 1000:.0f} ms\n")  # progress, if a run dies
                return took

            results: dict[str, list[float]] = {}
            results["worklist, first of the day (registry evaluated)"] = [timed("GET", "/worklist")]
            results["worklist page, cached"] = [
                timed("GET", "/worklist") for _ in range(args.repeat)
            ]
            # a nurse's filters, cut from the cached evaluation (issue 15 item 1)
            filtered = "/worklist?rule=adh&hospital=h01&due_within=7&undated=1"
            results["worklist page, filtered (rule, hospital, due within, undated)"] = [
                timed("GET", filtered) for _ in range(args.repeat)
            ]
            results["worklist JSON API, filtered"] = [
                timed("GET", "/api/worklist?rule=adh&hospital=h01&due_within=7")
                for _ in range(args.repeat)
            ]

            def timed_quality(path: str) -> float:
                start = time.perf_counter()
                response = quality.get(path)
                assert response.status_code == 200, (path, response.status_code)
                took = time.perf_counter() - start
                sys.stderr.write(f"{path}: {took * 1000:.0f} ms\n")
                return took

            # quality pages (issue 15 item 8): the first look computes, later ones are cached
            results["quality dashboard, first (indicators computed)"] = [timed_quality("/quality")]
            results["quality dashboard, cached"] = [
                timed_quality("/quality") for _ in range(args.repeat)
            ]
            one = "/quality?hospital=H01"
            results["quality dashboard, one hospital, first"] = [timed_quality(one)]
            results["quality dashboard, one hospital, cached"] = [
                timed_quality(one) for _ in range(args.repeat)
            ]
            report = "/quality/report.html"
            try:
                results["quality report (HTML, outcomes), first"] = [timed_quality(report)]
                results["quality report (HTML, outcomes), cached"] = [
                    timed_quality(report) for _ in range(args.repeat)
                ]
            except AssertionError as failed:  # say so and time the rest
                sys.stderr.write(f"printable report not timed: {failed}\n")
            results["patient page (findings, charts, timeline)"] = [
                timed("GET", patient) for _ in range(args.repeat)
            ]
            dose = {"event": {"date": "2026-11-01", "drug": "zoledronic_acid", "dose_mg": 4.0}}
            results["dose safety check (API)"] = [
                timed(
                    "POST",
                    "/api/patients/synth/S0000006/events/bta/check",
                    json=dose,
                    headers=headers,
                )
                for _ in range(args.repeat)
            ]
            lab = {
                "event": {"date": "2026-11-01", "test": "calcium", "value": 2.3, "unit": "mmol/L"}
            }
            results["record a lab (API: parse + upsert + audit)"] = [
                timed("POST", "/api/patients/synth/S0000006/events/labs", json=lab, headers=headers)
                for _ in range(args.repeat)
            ]
            results["worklist after a write (the written patient re-evaluated)"] = [
                timed("GET", "/worklist")
            ]
            # the whole list as nurses download it (every item, not a page of 200)
            csv_body = client.get("/api/worklist/export.csv")
            items = csv_body.text.count("\r\n") - 1
            results[f"worklist export, CSV ({items:,} items)"] = [
                timed("GET", "/api/worklist/export.csv") for _ in range(3)
            ]
            if not args.no_xlsx:
                results[f"worklist export, Excel ({items:,} items)"] = [
                    timed("GET", "/api/worklist/export.xlsx") for _ in range(3)
                ]
        server.should_exit = True
        thread.join(timeout=10)
        store.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the server + client process: {peak_mb:,.0f} MB")
    print(f"| measure ({args.patients} patients) | median | p95 | n |")
    print("|---|---|---|---|")
    for name, values in results.items():
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(
            f"| {name} | {statistics.median(values) * 1000:.0f} ms | {p95 * 1000:.0f} ms "
            f"| {len(values)} |"
        )


if __name__ == "__main__":
    main()
