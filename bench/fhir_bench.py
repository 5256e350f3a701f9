"""Benchmark FHIR import throughput and CDS Hooks latency.

Usage::

    .venv/bin/python bench/fhir_bench.py import [--patients 2000] [--db sqlite postgresql]
    .venv/bin/python bench/fhir_bench.py cds [--patients 200] [--requests 400] [--concurrency 8] \
        [--workers N]

``import``: N seeded synthetic patients are exported with bonepath's own FHIR export
(:func:`bonepath.interop.fhir.from_record.patient_resources`) and written as a bulk export
(one NDJSON file per resource type, as a FHIR server's ``$export`` gives) to ``bench/out/``;
then :func:`bonepath.interop.importer.import_paths` imports that directory, exactly as
``bonepath import DIR`` does, into an empty SQLite file and an empty PostgreSQL schema.
Printed: resources, patients, wall seconds and resources/s.

``cds``: the app in uvicorn (one worker, in the benchmark's own process; with ``--workers N``
``bonepath serve --workers N`` in processes of its own) on a local port; ``--concurrency`` clients post
patient-view (and order-sign with a 4 mg zoledronic acid draft) calls with a signed JWT and a
full prefetch of one of N exported patients, round-robin. Printed: p50/p95/p99 latency per
hook and the load average (``os.getloadavg``) before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

OUT = Path(__file__).resolve().parent / "out"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TODAY = dt.date(2026, 11, 23)
_PREFETCH_KINDS = (
    ("conditions", "Condition"),
    ("observations", "Observation"),
    ("administrations", "MedicationAdministration"),
    ("requests", "MedicationRequest"),
    ("procedures", "Procedure"),
    ("reports", "DiagnosticReport"),
)
_DRAFT: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "id": "d",
    "status": "draft",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "77655"}]
    },
    "dosageInstruction": [
        {
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": 4,
                        "unit": "mg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg",
                    }
                }
            ]
        }
    ],
}


def _records(patients: int, seed: int = 0) -> list[Any]:
    from bonepath.record.parse import parse_record
    from bonepath.synth import generate_record

    return [parse_record(generate_record(i, seed), today=TODAY) for i in range(patients)]


def _export_part(start: int, stop: int, folder: str) -> int:
    """Patients ``start``..``stop`` exported to ``folder/<type>.<start>.ndjson`` (a process)."""
    from bonepath.interop.fhir.from_record import patient_resources
    from bonepath.record.parse import parse_record
    from bonepath.synth import generate_record

    files: dict[str, list[bytes]] = defaultdict(list)
    for i in range(start, stop):
        for resource in patient_resources(parse_record(generate_record(i, 0), today=TODAY)):
            files[resource["resourceType"]].append(orjson.dumps(resource))
    for kind, lines in files.items():
        (Path(folder) / f"{kind}.{start:07d}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    return sum(len(lines) for lines in files.values())


_PATIENT_ID = re.compile(rb'(synth\.|")S00(\d{5})(?!\d)')
"""A synthetic patient's number (``synth.S0001234``, ``"S0001234"``) below 100,000."""


def _repeated_export(patients: int, base: int, jobs: int) -> tuple[Path, int]:
    """``patients`` as copies of the bulk export of ``base`` patients (``base`` ≤ 100,000,
    ``patients`` ≤ 10 × ``base``): copy k renames patient ``S00nnnnn`` to ``S0knnnnn`` in every
    resource (ids, references, identifiers), so each copy is a new set of patients with the
    same clinical content. Generating is the slow part (≈ 2 min per 10,000 patients on two
    idle cores); copying takes seconds."""
    if base > 100_000 or patients % base or patients // base > 10:
        raise SystemExit("--base: at most 100,000, dividing --patients, at most 10 copies")
    source, resources = _bulk_export(base, jobs)
    folder = OUT / f"fhir-bulk-{patients}-base{base}"
    done = folder / "resources.txt"
    if done.exists():
        return folder, int(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.ndjson")):
        data = path.read_bytes()
        (folder / path.name).write_bytes(data)
        for copy in range(1, patients // base):
            renamed = _PATIENT_ID.sub(rb"\1S0" + str(copy).encode() + rb"\2", data)
            (folder / f"{path.stem}.copy{copy}.ndjson").write_bytes(renamed)
    total = resources * (patients // base)
    done.write_text(str(total))
    return folder, total


def _bulk_export(patients: int, jobs: int = 2) -> tuple[Path, int]:
    """A bulk export of ``patients`` (kept in bench/out/ and reused: generating is the slow
    part); written by ``jobs`` processes, one NDJSON file per resource type and part."""
    from concurrent.futures import ProcessPoolExecutor

    folder = OUT / f"fhir-bulk-{patients}"
    done = folder / "resources.txt"
    if done.exists():
        return folder, int(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    step = 2000
    with ProcessPoolExecutor(jobs) as pool:
        counts = pool.map(
            _export_part,
            range(0, patients, step),
            [min(p + step, patients) for p in range(0, patients, step)],
            [str(folder)] * len(range(0, patients, step)),
        )
        resources = sum(counts)
    done.write_text(str(resources))
    return folder, resources


def _peak_rss_mb(who: int) -> float:
    import resource

    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def import_run(folder: Path, url: str, jobs: int) -> None:
    """One import in this process (run by ``bench_import`` in a fresh interpreter): prints
    JSON with wall and CPU seconds and the peak resident memory of this process and of its
    worker processes."""
    import resource

    from bonepath.interop.importer import import_paths
    from bonepath.store.repository import open_store

    store = open_store(url)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    report = import_paths(store, [folder], today=TODAY, jobs=jobs)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    store.close()
    print(
        orjson.dumps(
            {
                "wall": wall,
                "cpu_main": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
                "cpu_workers": children.ru_utime + children.ru_stime,
                "rss_main_mb": _peak_rss_mb(resource.RUSAGE_SELF),
                "rss_worker_mb": _peak_rss_mb(resource.RUSAGE_CHILDREN),
                "imported": report.imported,
                "refused": report.refused,
                "skipped": sum(report.skipped.values()),
            }
        ).decode()
    )


def bench_import(
    patients: int,
    dbs: list[str],
    pg_url: str,  # noqa: ARG001
    jobs: int,
    base: int | None = None,
) -> None:
    started = time.perf_counter()
    if base is not None and base < patients:
        folder, resources = _repeated_export(patients, base, jobs)
    else:
        folder, resources = _bulk_export(patients, jobs)
    size = sum(p.stat().st_size for p in folder.glob("*.ndjson"))
    print(
        f"export: {patients} patients, {resources} resources, {size / 2**20:,.0f} MiB "
        f"({time.perf_counter() - started:.1f} s)"
    )
    for db in dbs:
        if db != "sqlite":
            print("(PostgreSQL: run with --db sqlite; the streaming figures are the reader's)")
            continue
        load = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.sqlite3"
            out = subprocess.run(
                [sys.executable, __file__, "import-run", str(folder), url, str(jobs)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        r = orjson.loads(out.strip().splitlines()[-1])
        cpu = r["cpu_main"] + r["cpu_workers"]
        print(
            f"| {db} | {patients:,} | {resources:,} | {r['imported']:,} | {r['refused']} | "
            f"{jobs} | {r['wall']:.1f} s | **{resources / r['wall']:,.0f} resources/s** | "
            f"{cpu:.1f} s | {resources / cpu:,.0f} | {r['rss_main_mb']:,.0f} MiB + "
            f"{r['rss_worker_mb']:,.0f} MiB per worker | {load:.1f} |"
        )


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return f"{q[49] * 1000:.0f} ms | {q[94] * 1000:.0f} ms | {q[98] * 1000:.0f} ms"


def bench_cds(patients: int, requests: int, concurrency: int, workers: int | None) -> None:
    import httpx
    import jwt
    import uvicorn
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bonepath.api.app import create_app
    from bonepath.api.cds_hooks import ORDER_SIGN, PATIENT_VIEW, CdsClient, CdsConfig
    from bonepath.interop.fhir.from_record import patient_id, patient_resources
    from bonepath.settings import Settings

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    iss = "https://ehr.bench"
    bodies = []
    for record in _records(patients, seed=1):
        resources = patient_resources(record)
        prefetch: dict[str, Any] = {"patient": resources[0]}
        for name, kind in (
            ("conditions", "Condition"),
            ("observations", "Observation"),
            ("administrations", "MedicationAdministration"),
            ("requests", "MedicationRequest"),
            ("procedures", "Procedure"),
            ("reports", "DiagnosticReport"),
        ):
            prefetch[name] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in resources if r["resourceType"] == kind],
            }
        bodies.append((patient_id(record), prefetch))

    with tempfile.TemporaryDirectory() as tmp:
        port = 8765 + os.getpid() % 1000
        process = None
        server = None
        thread = None
        if workers is None:
            # the app in this process (uvicorn in a thread): the clients share its interpreter
            app = create_app(
                Settings(database_url=f"sqlite:///{tmp}/s.sqlite3"), today=lambda: TODAY
            )
            app.state.cds_config = CdsConfig({iss: CdsClient(iss, {"keys": [{**jwk, "kid": "k"}]})})
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
            )
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.05)
        else:
            # `bonepath serve --workers N` as deployed: server processes of their own
            clients = Path(tmp) / "clients.json"
            clients.write_text(
                orjson.dumps(
                    {"clients": [{"iss": iss, "jwks": {"keys": [{**jwk, "kid": "k"}]}}]}
                ).decode()
            )
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bonepath",
                    "serve",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                ],
                env={
                    **os.environ,
                    "BONEPATH_DATABASE_URL": f"sqlite:///{tmp}/s.sqlite3",
                    "BONEPATH_CDS_CLIENTS": str(clients),
                },
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
        base = f"http://127.0.0.1:{port}/cds-services/"

        def token(url: str) -> str:
            now = int(time.time())
            claims = {"iss": iss, "aud": url, "iat": now, "exp": now + 240, "jti": uuid.uuid4().hex}
            return jwt.encode(claims, key, algorithm="RS384", headers={"kid": "k"})

        def body(i: int, hook: str) -> dict[str, Any]:
            pid, prefetch = bodies[i % len(bodies)]
            context: dict[str, Any] = {"userId": "Practitioner/1", "patientId": pid}
            if hook == "order-sign":
                draft = {
                    "resourceType": "MedicationRequest",
                    "id": "d",
                    "status": "draft",
                    "intent": "order",
                    "medicationCodeableConcept": {
                        "coding": [
                            {
                                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                "code": "77655",
                            }
                        ]
                    },
                    "subject": {"reference": f"Patient/{pid}"},
                    "dosageInstruction": [
                        {
                            "doseAndRate": [
                                {
                                    "doseQuantity": {
                                        "value": 4,
                                        "unit": "mg",
                                        "system": "http://unitsofmeasure.org",
                                        "code": "mg",
                                    }
                                }
                            ]
                        }
                    ],
                }
                context["draftOrders"] = {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": draft}],
                }
            return {
                "hook": hook,
                "hookInstance": uuid.uuid4().hex,
                "context": context,
                "prefetch": prefetch,
            }

        async def run(service: str, hook: str) -> tuple[list[float], int]:
            url = base + service
            times: list[float] = []
            cards = 0
            queue = list(range(requests))
            async with httpx.AsyncClient(timeout=60) as client:

                async def worker() -> None:
                    nonlocal cards
                    while queue:
                        i = queue.pop()
                        payload = orjson.dumps(body(i, hook))
                        headers = {
                            "Authorization": f"Bearer {token(url)}",
                            "Content-Type": "application/json",
                        }
                        started = time.perf_counter()
                        response = await client.post(url, content=payload, headers=headers)
                        times.append(time.perf_counter() - started)
                        response.raise_for_status()
                        cards += len(response.json()["cards"])

                await asyncio.gather(*(worker() for _ in range(concurrency)))
            return times, cards

        for service, hook in ((PATIENT_VIEW, "patient-view"), (ORDER_SIGN, "order-sign")):
            asyncio.run(run(service, hook))  # warm-up pass (plan cache, imports)
            before = os.getloadavg()[0]
            started = time.perf_counter()
            times, cards = asyncio.run(run(service, hook))
            wall = time.perf_counter() - started
            after = os.getloadavg()[0]
            print(
                f"| {hook} | {concurrency} | {requests} | {_percentiles(times)} | "
                f"{requests / wall:.1f}/s | {cards / requests:.1f} | {before:.1f} → {after:.1f} |"
            )
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(10)
        if process is not None:
            process.terminate()
            process.wait(30)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_cds_open(rate: float, seconds: float, patients: int) -> None:
    """Open loop: ``bonepath serve`` as deployed (default workers), calls sent on a fixed
    schedule (``rate`` a second, patient-view and order-sign alternating) whatever the answers;
    each latency counted from the call's scheduled time (no coordinated omission). The very
    first call after the server is up is reported on its own."""
    import httpx
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bonepath.api.cds_hooks import ORDER_SIGN, PATIENT_VIEW
    from bonepath.interop.fhir.from_record import patient_id, patient_resources

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    iss = "https://ehr.bench"
    prefetches = []
    for record in _records(patients, seed=1):
        resources = patient_resources(record)
        prefetch: dict[str, Any] = {"patient": resources[0]}
        for name, kind in (
            ("conditions", "Condition"),
            ("observations", "Observation"),
            ("administrations", "MedicationAdministration"),
            ("requests", "MedicationRequest"),
            ("procedures", "Procedure"),
            ("reports", "DiagnosticReport"),
        ):
            prefetch[name] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in resources if r["resourceType"] == kind],
            }
        prefetches.append((patient_id(record), prefetch))
    draft = {
        "resourceType": "MedicationRequest",
        "id": "d",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "77655"}]
        },
        "dosageInstruction": [
            {
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": 4,
                            "unit": "mg",
                            "system": "http://unitsofmeasure.org",
                            "code": "mg",
                        }
                    }
                ]
            }
        ],
    }
    with tempfile.TemporaryDirectory() as tmp:
        port = 8765 + os.getpid() % 1000
        clients = Path(tmp) / "clients.json"
        clients.write_text(
            orjson.dumps(
                {"clients": [{"iss": iss, "jwks": {"keys": [{**jwk, "kid": "k"}]}}]}
            ).decode()
        )
        env = {
            **os.environ,
            "BONEPATH_DATABASE_URL": f"sqlite:///{tmp}/s.sqlite3",
            "BONEPATH_CDS_CLIENTS": str(clients),
        }
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bonepath", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(OUT / "cds-open-server.log").open("wb"),
        )
        base = f"http://127.0.0.1:{port}/cds-services/"
        try:
            while True:
                try:
                    httpx.get(base.rstrip("/"), timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            up = time.perf_counter() - started
            total = int(rate * seconds)

            def call(i: int) -> tuple[str, bytes, dict[str, str]]:
                service, hook = (
                    (PATIENT_VIEW, "patient-view") if i % 2 == 0 else (ORDER_SIGN, "order-sign")
                )
                pid, prefetch = prefetches[i % len(prefetches)]
                context: dict[str, Any] = {"userId": "Practitioner/1", "patientId": pid}
                if hook == "order-sign":
                    mine = {**draft, "subject": {"reference": f"Patient/{pid}"}}
                    context["draftOrders"] = {
                        "resourceType": "Bundle",
                        "type": "collection",
                        "entry": [{"resource": mine}],
                    }
                body = {
                    "hook": hook,
                    "hookInstance": uuid.uuid4().hex,
                    "context": context,
                    "prefetch": prefetch,
                }
                url = base + service
                now = int(time.time())
                claims = {
                    "iss": iss,
                    "aud": url,
                    "iat": now,
                    "exp": now + 290,
                    "jti": uuid.uuid4().hex,
                }
                token = jwt.encode(claims, key, algorithm="RS384", headers={"kid": "k"})
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                return url, orjson.dumps(body), headers

            first_url, first_body, first_headers = call(0)
            first_cpu = _cpu_seconds(process.pid)
            t = time.perf_counter()
            first = httpx.post(first_url, content=first_body, headers=first_headers, timeout=30)
            first_ms = (time.perf_counter() - t) * 1000
            first_cpu = (_cpu_seconds(process.pid) - first_cpu) * 1000
            first.raise_for_status()
            prepared = [call(i) for i in range(1, total + 1)]  # signed before the clock starts
            load = os.getloadavg()[0]

            async def run() -> dict[str, list[float]]:
                latencies: dict[str, list[float]] = {"patient-view": [], "order-sign": []}
                async with httpx.AsyncClient(
                    timeout=30, limits=httpx.Limits(max_connections=200)
                ) as client:

                    async def one(
                        at: float, url: str, body: bytes, headers: dict[str, str]
                    ) -> None:
                        hook = "patient-view" if url.endswith(PATIENT_VIEW) else "order-sign"
                        try:
                            response = await client.post(url, content=body, headers=headers)
                            response.raise_for_status()
                        except httpx.HTTPError:
                            failed.append(hook)  # a timeout (30 s) or an error: reported
                        latencies[hook].append(time.perf_counter() - at)

                    t0 = time.perf_counter() + 0.2
                    tasks = []
                    for i, (url, body, headers) in enumerate(prepared):
                        at = t0 + i / rate
                        delay = at - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        tasks.append(asyncio.create_task(one(at, url, body, headers)))
                    await asyncio.gather(*tasks)
                return latencies

            failed: list[str] = []
            cpu = _cpu_seconds(process.pid)
            wall = time.perf_counter()
            latencies = asyncio.run(run())
            wall = time.perf_counter() - wall
            cpu = _cpu_seconds(process.pid) - cpu
            after = os.getloadavg()[0]
            print(
                f"server up in {up:.1f} s (warm-up included); first call {first_ms:.0f} ms "
                f"({first_cpu:.0f} ms of server CPU)"
            )
            print(
                f"server CPU {cpu:.1f} s for {total} calls: {cpu / total * 1000:.0f} ms a call "
                f"(one core serves {total / cpu:.0f} calls/s); failed or timed out: {len(failed)}"
            )
            every = [x for xs in latencies.values() for x in xs]
            for name, samples in (*latencies.items(), ("all", every)):
                print(
                    f"| {name} | {rate:g}/s open loop | {len(samples)} | {_percentiles(samples)} | "
                    f"{max(samples) * 1000:.0f} ms | {len(every) / wall:.1f}/s | {load:.1f} → {after:.1f} |"
                )
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _serve_until_listening(port: int, env: dict[str, str], log: Path) -> tuple[Any, float]:
    """``bonepath serve`` (default workers) started and waited for by a TCP connect only (no
    HTTP request, so nothing is warmed by the probe: uvicorn listens once its startup,
    the CDS warm-up included, is done). Returns the process and the seconds until it listened."""
    import socket

    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bonepath", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"bonepath serve exited {process.returncode}: see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    return process, time.perf_counter() - started


def _signed_call(
    base: str, iss: str, key: Any, alg: str, prefetches: list[tuple[str, Any]], i: int
) -> tuple[str, bytes, dict[str, str]]:
    """Call ``i``: patient-view (even) or order-sign of a 4 mg zoledronic acid draft (odd)
    for one of ``prefetches``, with a JWT signed by ``key``."""
    import jwt

    from bonepath.api.cds_hooks import ORDER_SIGN, PATIENT_VIEW

    service, hook = (PATIENT_VIEW, "patient-view") if i % 2 == 0 else (ORDER_SIGN, "order-sign")
    pid, prefetch = prefetches[i % len(prefetches)]
    context: dict[str, Any] = {"userId": "Practitioner/1", "patientId": pid}
    if hook == "order-sign":
        mine = {**_DRAFT, "subject": {"reference": f"Patient/{pid}"}}
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": mine}],
        }
    body = {
        "hook": hook,
        "hookInstance": uuid.uuid4().hex,
        "context": context,
        "prefetch": prefetch,
    }
    url = base + service
    now = int(time.time())
    claims = {"iss": iss, "aud": url, "iat": now, "exp": now + 290, "jti": uuid.uuid4().hex}
    token = jwt.encode(claims, key, algorithm=alg, headers={"kid": "k"})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return url, orjson.dumps(body), headers


def bench_cds_first(runs: int, algorithms: list[str], patients: int) -> None:
    """The first CDS call after start against the next ones: ``bonepath serve`` as deployed
    (one process, CDS clients configured so it warms up at startup), started afresh for every
    run and key type; the first call is the first HTTP request the server ever gets (readiness
    by a TCP connect only). Printed per run: wall and server CPU (``/proc/<pid>/stat``, all
    threads) of the first call and the mean of the next five."""
    import httpx
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from bonepath.interop.fhir.from_record import patient_id, patient_resources

    prefetches = []
    for record in _records(patients, seed=1):
        resources = patient_resources(record)
        prefetch: dict[str, Any] = {"patient": resources[0]}
        for name, kind in _PREFETCH_KINDS:
            prefetch[name] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in resources if r["resourceType"] == kind],
            }
        prefetches.append((patient_id(record), prefetch))
    iss = "https://ehr.bench"
    print(
        "| JWT | run | server up | first call wall | first call CPU | next 5: wall "
        "| next 5: CPU | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for alg in algorithms:
        key: Any
        if alg.startswith("RS"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        else:
            key = ec.generate_private_key({"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1()}[alg])
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        for run in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                port = 8765 + (os.getpid() + run) % 1000
                clients = Path(tmp) / "clients.json"
                clients.write_text(
                    orjson.dumps(
                        {"clients": [{"iss": iss, "jwks": {"keys": [{**jwk, "kid": "k"}]}}]}
                    ).decode()
                )
                env = {
                    **os.environ,
                    "BONEPATH_DATABASE_URL": f"sqlite:///{tmp}/s.sqlite3",
                    "BONEPATH_CDS_CLIENTS": str(clients),
                }
                base = f"http://127.0.0.1:{port}/cds-services/"

                # signed before the server starts
                prepared = [_signed_call(base, iss, key, alg, prefetches, i) for i in range(6)]
                load = os.getloadavg()[0]
                process, up = _serve_until_listening(port, env, OUT / "cds-first-server.log")
                try:
                    walls: list[float] = []
                    cpus: list[float] = []
                    with httpx.Client(timeout=30) as client:
                        for url, body, headers in prepared:
                            cpu = _cpu_seconds(process.pid)
                            t = time.perf_counter()
                            response = client.post(url, content=body, headers=headers)
                            walls.append((time.perf_counter() - t) * 1000)
                            cpus.append((_cpu_seconds(process.pid) - cpu) * 1000)
                            response.raise_for_status()
                finally:
                    process.terminate()
                    try:
                        process.wait(30)
                    except subprocess.TimeoutExpired:
                        process.kill()
                print(
                    f"| {alg} | {run + 1} | {up:.1f} s | {walls[0]:.0f} ms | {cpus[0]:.0f} ms | "
                    f"{statistics.mean(walls[1:]):.0f} ms | {statistics.mean(cpus[1:]):.0f} ms | "
                    f"{load:.1f} |"
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    imp = sub.add_parser("import")
    imp.add_argument("--patients", type=int, default=2000)
    imp.add_argument("--db", nargs="+", default=["sqlite"])
    imp.add_argument("--pg-url", default=os.environ.get("BONEPATH_TEST_PG_URL", DEFAULT_PG_URL))
    imp.add_argument("--jobs", type=int, default=2)
    imp.add_argument(
        "--base",
        type=int,
        default=None,
        help="generate this many patients and repeat them under new ids up to --patients",
    )
    open_loop = sub.add_parser("cds-open")
    open_loop.add_argument("--rate", type=float, default=20.0)
    open_loop.add_argument("--seconds", type=float, default=30.0)
    open_loop.add_argument("--patients", type=int, default=50)
    first = sub.add_parser("cds-first")
    first.add_argument("--runs", type=int, default=3)
    first.add_argument("--alg", nargs="+", default=["RS384", "ES384"])
    first.add_argument("--patients", type=int, default=6)
    run = sub.add_parser("import-run")
    run.add_argument("folder", type=Path)
    run.add_argument("url")
    run.add_argument("jobs", type=int)
    cds = sub.add_parser("cds")
    cds.add_argument("--patients", type=int, default=200)
    cds.add_argument("--requests", type=int, default=400)
    cds.add_argument("--concurrency", type=int, default=8)
    cds.add_argument(
        "--workers",
        type=int,
        default=None,
        help="serve with `bonepath serve --workers N` in its own processes "
        "(default: the app in the benchmark's process, one worker)",
    )
    args = parser.parse_args()
    if args.what == "import":
        bench_import(args.patients, args.db, args.pg_url, args.jobs, args.base)
    elif args.what == "cds-open":
        bench_cds_open(args.rate, args.seconds, args.patients)
    elif args.what == "cds-first":
        bench_cds_first(args.runs, args.alg, args.patients)
    elif args.what == "import-run":
        import_run(args.folder, args.url, args.jobs)
    else:
        bench_cds(args.patients, args.requests, args.concurrency, args.workers)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
