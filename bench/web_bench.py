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

    # issue 19: the first worklist of the day, a clinician of every hospital and a nurse of
    # one; cold (warm-up off), then as deployed: after the warm-up, after a change of day, and
    # arriving while the warm-up evaluates
    .venv/bin/python bench/web_bench.py --patients 100000 --store /tmp/bp100k.sqlite3 --first-of-day
    .venv/bin/python bench/web_bench.py --patients 100000 --store /tmp/bp100k.sqlite3 --first-of-day --warm

Each line gives the median wall time and the median CPU time of the process (server and
client together, all threads) over the request: on shared cores the CPU is the fairer figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
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
    parser.add_argument(
        "--first-of-day",
        action="store_true",
        help="time only the first worklist of a day, a clinician's and a nurse's (issue 19); "
        "with --warm also across a change of day and during the warm-up",
    )
    parser.add_argument(
        "--nurse-hospital", default="H01", help="the hospital of the nurse (--first-of-day)"
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
        if args.first_of_day:
            _first_of_day(args, store, url)
            # the warm-up may still be building the last day's quality reports in its daemon
            # thread: leave without tearing DuckDB down under it (SIGABRT at exit otherwise)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
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


class _CountedEvaluations:
    """``evaluate_registry`` counted (day, selection, start and end) where the worklist
    services call it, to tell one evaluation from two."""

    def __init__(self) -> None:
        from bonepath.population import registry

        self._module = registry
        self._real = registry.evaluate_registry
        self._lock = threading.Lock()
        self.calls: list[tuple[dt.date, tuple[str, ...], float, float | None]] = []
        self.running = 0
        self.most_at_once = 0
        registry.evaluate_registry = self  # type: ignore[assignment]

    def __call__(self, store: Any, day: dt.date, **kwargs: Any) -> Any:
        with self._lock:
            index = len(self.calls)
            self.calls.append((day, tuple(kwargs.get("hospitals", ())), time.perf_counter(), None))
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return self._real(store, day, **kwargs)
        finally:
            with self._lock:
                self.running -= 1
                day_, chosen, start, _ = self.calls[index]
                self.calls[index] = (day_, chosen, start, time.perf_counter())

    def of(self, day: dt.date) -> list[str]:
        with self._lock:
            return [
                f"{'+'.join(chosen) or 'all'} {((end or time.perf_counter()) - start):.1f} s"
                for d, chosen, start, end in self.calls
                if d == day
            ]


def _quality_warmed(store: Any, day: dt.date) -> bool:
    """Whether the warm-up has built the last thing it builds for ``day`` (each hospital's
    printable report of the default period)."""
    from bonepath.population import quality_cache

    evaluation = quality_cache.CACHE.peek(store, dt.date(day.year, 1, 1), day)
    if evaluation is None:
        return False
    ids = sorted({str(h) for h in evaluation.people["hospital_id"].to_pylist() if h})
    return evaluation.built(("printed", (ids[-1],), "zh"))


def _first_of_day(args: argparse.Namespace, store: Any, url: str) -> None:
    """The first worklist of a day of a clinician who sees every hospital and of a nurse of
    one (issue 19 item 3): cold (warm-up off), or as deployed (``--warm``): once the warm-up
    is done; on the next day (the app's clock moved on, the warm-up's poll finds the new day
    and evaluates it before the first look); and on the day after, both users arriving while
    the warm-up is evaluating."""
    from bonepath.errors import NotFound

    nurse_hospital = args.nurse_hospital
    try:
        accounts.find_user(store.engine, "bench_nurse")
    except NotFound:
        accounts.create_user(
            store.engine, "bench_nurse", "bench password", "nurse", [nurse_hospital]
        )
    counted = _CountedEvaluations()
    today = [AS_OF]
    settings = Settings(database_url=url, worklist_warmup=args.warm)
    begun = (time.perf_counter(), time.process_time())
    app = create_app(settings, today=lambda: today[0], store=store)
    port = _port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        sys.stderr.write(line + "\n")

    def since(mark: tuple[float, float]) -> str:
        return (
            f"{time.perf_counter() - mark[0]:.1f} s wall, {time.process_time() - mark[1]:.1f} s CPU"
        )

    def wait_warmed(day: dt.date, mark: tuple[float, float]) -> None:
        warmer = app.state.worklist_warmer
        while day not in warmer.warmed:
            time.sleep(0.2)
        say(f"  {day}: worklist warmed {since(mark)} after the day began")
        while not _quality_warmed(store, day):
            time.sleep(0.5)
        say(f"  {day}: warm-up done (quality too) {since(mark)} after the day began")

    with (
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=1200) as clinician,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=1200) as nurse,
    ):
        users = {"clinician (every hospital)": clinician, f"nurse ({nurse_hospital})": nurse}

        def look(name: str, client: httpx.Client, into: dict[str, str]) -> None:
            start, cpu_start = time.perf_counter(), time.process_time()
            response = client.get("/worklist")
            assert response.status_code == 200, (name, response.status_code)
            into[name] = (
                f"{(time.perf_counter() - start) * 1000:,.0f} ms wall, "
                f"{(time.process_time() - cpu_start) * 1000:,.0f} ms CPU (process)"
            )

        def looks(title: str, order: list[str], *, together: bool = False) -> None:
            took: dict[str, str] = {}
            if together:  # each user in a thread of their own, at the same moment
                threads = [
                    threading.Thread(target=look, args=(name, users[name], took)) for name in order
                ]
                for each in threads:
                    each.start()
                for each in threads:
                    each.join()
            else:
                for name in order:
                    look(name, users[name], took)
            say(f"{title} (load {' '.join(f'{v:.1f}' for v in _load())}):")
            for name in order:
                say(f"  {name}: {took[name]}")

        if args.warm:
            wait_warmed(AS_OF, begun)
        _log_in(clinician, "bench")
        _log_in(nurse, "bench_nurse")
        clinician_first = list(users)
        nurse_first = clinician_first[::-1]
        if not args.warm:  # the nurse first: her hospital alone; then every hospital
            looks(f"{AS_OF}, cold (warm-up off), one after the other", nurse_first)
            looks(f"{AS_OF}, again (cached)", clinician_first)
            say(f"  evaluations of {AS_OF}: {counted.of(AS_OF)}")
        else:
            looks(f"{AS_OF}, first looks after the warm-up at start", clinician_first)
            looks(f"{AS_OF}, again (cached)", clinician_first)
            next_day = AS_OF + dt.timedelta(days=1)
            mark = (time.perf_counter(), time.process_time())
            today[0] = next_day  # midnight, as the app's clock sees it
            wait_warmed(next_day, mark)
            looks(f"{next_day}, first looks after the change of day, warmed", nurse_first)
            day_after = next_day + dt.timedelta(days=1)
            today[0] = day_after
            while not counted.of(day_after):  # the warm-up's poll found the day: evaluating
                time.sleep(0.05)
            looks(
                f"{day_after}, both arriving as the warm-up begins to evaluate the day",
                nurse_first,
                together=True,
            )
            for day in (AS_OF, next_day, day_after):
                say(f"  evaluations of {day}: {counted.of(day)}")
        say(f"  at most {counted.most_at_once} evaluation(s) at once")
    server.should_exit = True
    thread.join(timeout=30)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"first worklist of the day, {args.patients:,} patients, warm-up {'on' if args.warm else 'off'}"
    )
    print(f"peak RSS of the server + client process: {peak_mb:,.0f} MB")
    print("\n".join(lines))


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
