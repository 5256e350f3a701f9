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
    # the quality pages as deployed: warm-up on (BONEPATH_WORKLIST_WARMUP), timed once it is done
    .venv/bin/python bench/web_bench.py --patients 100000 --store /tmp/bp100k.sqlite3 --warm \
        --quality-only --repeat 5

Each line gives the median wall time and the median CPU time of the process (server and
client together, all threads) over the request: on shared cores the CPU is the fairer figure.
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
from typing import Any

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
    parser.add_argument(
        "--warm",
        action="store_true",
        help="start with the warm-up on (worklist and quality pages) and time once it is done",
    )
    parser.add_argument("--quality-only", action="store_true", help="time the quality pages only")
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
        from bonepath.population import quality_cache

        settings = Settings(database_url=url, worklist_warmup=args.warm)
        warm_from = (time.perf_counter(), time.process_time())
        app = create_app(settings, today=lambda: AS_OF, store=store)
        port = _port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="error")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        warm_up: tuple[float, float] | None = None
        if args.warm:  # until the warm-up has built its last report (each hospital's)
            default = (dt.date(AS_OF.year, 1, 1), AS_OF)
            while True:
                evaluation = quality_cache.CACHE.peek(store, *default)
                if evaluation is not None:
                    ids = sorted(
                        {str(h) for h in evaluation.people["hospital_id"].to_pylist() if h}
                    )
                    if evaluation.built(("printed", (ids[-1],), "zh")):
                        break
                time.sleep(0.5)
            warm_up = (time.perf_counter() - warm_from[0], time.process_time() - warm_from[1])
            sys.stderr.write(f"warm-up done: {warm_up[0]:.0f} s wall, {warm_up[1]:.0f} s CPU\n")
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

            cpu: dict[float, float] = {}  # wall time -> CPU time of the same request

            def timed(method: str, path: str, **kwargs: object) -> float:
                start, cpu_start = time.perf_counter(), time.process_time()
                response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
                assert response.status_code < 400, (path, response.status_code)
                took = time.perf_counter() - start
                cpu[took] = time.process_time() - cpu_start
                sys.stderr.write(f"{path}: {took * 1000:.0f} ms\n")  # progress, if a run dies
                return took

            results: dict[str, list[float]] = {}
            if not args.quality_only:
                results["worklist, first of the day (registry evaluated)"] = [
                    timed("GET", "/worklist")
                ]
            if not args.quality_only:
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

            def timed_quality(path: str, status: int = 200) -> float:
                start, cpu_start = time.perf_counter(), time.process_time()
                response = quality.get(path)
                assert response.status_code == status, (path, response.status_code)
                took = time.perf_counter() - start
                cpu[took] = time.process_time() - cpu_start
                sys.stderr.write(f"{path}: {took * 1000:.0f} ms\n")
                return took

            # quality pages (issue 15 item 8): the first look computes (or the warm-up did),
            # later ones are cached
            first = "warm-up done" if args.warm else "indicators computed"
            results[f"quality dashboard, first ({first})"] = [timed_quality("/quality")]
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
            # a period not evaluated yet: answered at once (202, "being computed"), then ready
            other = "/quality?from=2026-07-01&to=2026-11-01"
            results["quality dashboard, other period: the 'being computed' page"] = [
                timed_quality(other, 202)
            ]
            begun = (time.perf_counter(), time.process_time())
            while quality.get(other).status_code == 202:
                time.sleep(1.0)
            took = time.perf_counter() - begun[0]
            cpu[took] = time.process_time() - begun[1]
            results["quality dashboard, other period: until the result is shown (background)"] = [
                took
            ]
            results["quality dashboard, other period, then"] = [
                timed_quality(other) for _ in range(args.repeat)
            ]
            if args.quality_only:
                _print(args.patients, results, cpu, warm_up)
                server.should_exit = True
                thread.join(timeout=10)
                store.close()
                return
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
    _print(args.patients, results, cpu, None)


def _print(
    patients: int,
    results: dict[str, list[float]],
    cpu: dict[float, float],
    warm_up: tuple[float, float] | None,
) -> None:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the server + client process: {peak_mb:,.0f} MB")
    print(f"load average (1, 5, 15 min): {' '.join(f'{v:.1f}' for v in _load())}")
    if warm_up is not None:
        print(f"warm-up (worklists + quality): {warm_up[0]:.0f} s wall, {warm_up[1]:.0f} s CPU")
    print(f"| measure ({patients} patients) | median | p95 | CPU (median) | n |")
    print("|---|---|---|---|---|")
    for name, values in results.items():
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        spent = statistics.median(cpu.get(v, float("nan")) for v in values)
        print(
            f"| {name} | {statistics.median(values) * 1000:.0f} ms | {p95 * 1000:.0f} ms "
            f"| {spent * 1000:.0f} ms | {len(values)} |"
        )


def _load() -> Any:
    import os

    return os.getloadavg()


if __name__ == "__main__":
    main()
