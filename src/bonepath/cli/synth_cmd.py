"""`bonepath synth --patients N --seed S --out FILE [--as-of DATE]`: a synthetic cohort as NDJSON.

Same N, seed and as-of give a byte-identical file, and patient i never depends on N (the
first 1,000 records of a 1,000,000-patient cohort are the 1,000-patient cohort). Exit codes:
0 written; 2 a bad option (click's usage error); 1 the file could not be written.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bonepath.cli.exit_codes import FAILURE
from bonepath.synth.cohort import CohortSpec, write_cohort, write_ndjson
from bonepath.synth.params import DEFAULT_PARAMS

PROGRESS_FROM: int = 10_000
"""Cohorts of at least this many patients show a progress bar on stderr."""


def _parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date; accepted: YYYY-MM-DD") from None


def synth_command(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="NDJSON file to write ('-' for standard output)."),
    ],
    patients: Annotated[
        int, typer.Option("--patients", "-n", min=0, help="Number of patients.")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", "-s", min=0, help="Cohort seed.")] = 0,
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="The cohort's 'now' (YYYY-MM-DD): nothing is dated after it.",
        ),
    ] = DEFAULT_PARAMS.cohort.default_as_of.isoformat(),
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Worker processes (default: 2 from 20,000 patients, else 1)."
        ),
    ] = None,
) -> None:
    """Write a seeded, calibrated synthetic cohort (format bonepath-record/1) as NDJSON."""
    day = _parse_day(as_of)
    try:
        spec = CohortSpec(patients=patients, seed=seed, as_of=day)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--as-of") from None
    console = Console(stderr=True)
    started = time.perf_counter()
    progress = Progress(
        TextColumn("synth"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=patients < PROGRESS_FROM,
    )
    with progress:
        task = progress.add_task("patients", total=patients)

        def advance(count: int) -> None:
            progress.advance(task, count)

        try:
            if str(out) == "-":
                written = write_ndjson(spec, sys.stdout.buffer, workers, advance)
                sys.stdout.buffer.flush()
            else:
                written = write_cohort(spec, out, workers, advance)
        except OSError as exc:
            console.print(f"bonepath synth: cannot write {out}: {exc.strerror or exc}")
            raise typer.Exit(FAILURE) from None
    elapsed = time.perf_counter() - started
    target = "stdout" if str(out) == "-" else str(out)
    console.print(
        f"wrote {written} records to {target} (seed {seed}, as of {day}) in {elapsed:.1f} s",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("synth")(synth_command)
