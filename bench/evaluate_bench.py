"""Benchmark: evaluating patients by the guideline, one at a time and in batches.

Measures, in one process after warm-up (the compiled plan cached):
- point of care: `evaluate(record, as_of)` for single synthetic patients — median and p95 ms;
- the CLI as a user runs it: `bonepath evaluate FILE` wall time (process start included);
- batch: `evaluate_many` over N patients — patients/s and findings/s, peak RSS.

Usage: .venv/bin/python bench/evaluate_bench.py [--single 30] [--batch 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bonepath.engine.evaluate import evaluate, evaluate_many
from bonepath.engine.plan import compiled_stages
from bonepath.record.parse import parse_record
from bonepath.synth import generate_record

AS_OF = dt.date(2026, 11, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=30)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    t0 = time.perf_counter()
    compiled_stages("duckdb")
    print(f"plan load/compile: {time.perf_counter() - t0:.2f} s")

    records = [
        parse_record(generate_record(i, args.seed, AS_OF), today=AS_OF)
        for i in range(max(args.single, args.batch))
    ]
    evaluate(records[0], AS_OF)  # warm-up
    times = []
    for record in records[: args.single]:
        start = time.perf_counter()
        evaluate(record, AS_OF)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"single patient: median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms (n={len(times)})")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.json"
        path.write_text(json.dumps(records[0].to_json_dict()), encoding="utf-8")
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bonepath", "evaluate", str(path), "--as-of", AS_OF.isoformat()],
            check=True,
            capture_output=True,
        )
        print(f"CLI evaluate (process start included): {time.perf_counter() - start:.2f} s")

    batch = records[: args.batch]
    start = time.perf_counter()
    results = evaluate_many([(r, AS_OF) for r in batch])
    elapsed = time.perf_counter() - start
    findings = sum(len(r.findings) for r in results)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"batch of {len(batch)}: {elapsed:.2f} s, {len(batch) / elapsed:.0f} patients/s, "
        f"{findings / elapsed:.0f} findings/s, peak RSS {rss_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
