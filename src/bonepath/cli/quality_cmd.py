"""`bonepath quality`: the quality indicators QC-01..QC-15 over the stored registry
(QC-13..15, the MDT's distributions and counts, after the proportions: :mod:`bonepath.quality.mdt_indicators`).

``--format json`` prints the JSON of interfaces.md (every measure with every stratum);
``table`` a terminal table (``--by`` adds a stratum's rows); ``csv`` one row per measure and
stratum (UTF-8 with a byte-order mark, headers ``中文 / english``); ``html`` and ``pdf`` the
printable report with its charts and the outcome analyses (``--out`` required for pdf);
``fhir`` a FHIR R4 Bundle (collection) of one MeasureReport per measure.
Exit codes: 0 done; 2 a refused option (``{"errors": [...]}`` on stdout); 1 the store could
not be read or the PDF could not be printed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, NoReturn

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bonepath.cli.backends import backend_for
from bonepath.cli.evaluate_cmd import Language
from bonepath.cli.exit_codes import FAILURE, REFUSED
from bonepath.errors import BonepathError, Problem
from bonepath.quality.measures import STRATA, STRATUM_NAMES, Text, value_label
from bonepath.spreadsheet import csv_row

if TYPE_CHECKING:
    from bonepath.quality.results import QualityReport


class OutputFormat(StrEnum):
    JSON = "json"
    TABLE = "table"
    CSV = "csv"
    HTML = "html"
    PDF = "pdf"
    FHIR = "fhir"


class BackendChoice(StrEnum):
    AUTO = "auto"
    DUCKDB = "duckdb"
    POSTGRES = "postgres"


CSV_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("起始", "from"),
    ("截止", "to"),
    ("指标", "measure"),
    ("名称", "name"),
    ("分层", "by"),
    ("分层值", "value"),
    ("分子", "numerator"),
    ("分母", "denominator"),
    ("率", "rate"),
    ("小样本", "small"),
    ("白皮书基线", "baseline"),
)

_TEXT: Final = {
    "title": Text("质量指标 · {start} 至 {end}", "Quality indicators · {start} to {end}"),
    "id": Text("编号", "ID"),
    "name": Text("指标", "Indicator"),
    "stratum": Text("分层", "Stratum"),
    "num": Text("分子", "Num."),
    "den": Text("分母", "Den."),
    "rate": Text("率", "Rate"),
    "baseline": Text("白皮书基线", "WP baseline"),
    "overall": Text("全部", "overall"),
    "small": Text("（n<20）", " (n<20)"),
}


def _refuse(problem: Problem) -> NoReturn:
    sys.stdout.write(orjson.dumps({"errors": [problem.to_dict()]}).decode() + "\n")
    raise typer.Exit(REFUSED)


def _date(option: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _refuse(Problem(option, "INVALID_DATE", f"not a date: {text!r}", ("YYYY-MM-DD",)))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def csv_text(report: QualityReport, lang: str) -> str:
    """One row per measure (``by`` empty) and per measure × stratum value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def write(values: list[object]) -> None:
        # a stratum value is a hospital or department name from the imports: never a formula
        writer.writerow(csv_row(values + [""] * (width - len(values))))

    from bonepath.quality.mdt_indicators import CSV_EXTRA, csv_rows

    columns = (*CSV_COLUMNS, *(CSV_EXTRA if report.mdt is not None else ()))
    width = len(columns)
    write([f"{zh} / {en}" for zh, en in columns])
    start, end = report.start.isoformat(), report.end.isoformat()
    for m in report.measures:
        name = m.measure.name(lang)
        write(
            [
                start,
                end,
                m.id,
                name,
                "",
                "",
                _num(m.numerator),
                m.denominator,
                _rate(m.rate),
                "",
                _rate(m.measure.baseline),
            ]
        )
        for s in m.strata:
            write(
                [
                    start,
                    end,
                    m.id,
                    name,
                    s.by,
                    s.value or "",
                    _num(s.numerator),
                    s.denominator,
                    _rate(s.rate),
                    "1" if s.small else "0",
                    _rate(s.baseline),
                ]
            )
    if report.mdt is not None:
        for row in csv_rows(report.mdt, start, end, lang):
            write(row)
    return out.getvalue()


def _num(value: int | None) -> str:
    return "" if value is None else str(value)


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def render_table(report: QualityReport, lang: str, by: list[str], console: Console) -> None:
    t = _TEXT
    table = Table(
        title=t["title"](lang).format(start=report.start.isoformat(), end=report.end.isoformat()),
        show_lines=False,
        expand=True,
    )
    for key in ("id", "name", "stratum", "num", "den", "rate", "baseline"):
        table.add_column(
            t[key](lang),
            overflow="fold",
            justify="right" if key in ("num", "den", "rate") else "left",
        )
    for m in report.measures:
        table.add_row(
            m.id,
            escape(m.measure.name(lang)),
            t["overall"](lang),
            _num(m.numerator) or "—",
            str(m.denominator),
            _pct(m.rate),
            escape(m.measure.baseline_text(lang)),
        )
        for key in by:
            for s in m.by(key):
                label = f"{STRATUM_NAMES[key](lang)}: {value_label(key, s.value, lang)}"
                table.add_row(
                    "",
                    "",
                    escape(label + (t["small"](lang) if s.small else "")),
                    _num(s.numerator) or "—",
                    str(s.denominator),
                    _pct(s.rate),
                    "" if s.baseline is None else f"{s.baseline:.0%}",
                )
    console.print(table)
    for m in report.measures:
        if m.note is not None:
            console.print(f"{m.id}: {escape(m.note(lang))}")
    if report.mdt is not None:
        from bonepath.quality.mdt_indicators import text_lines

        for line in text_lines(report.mdt, lang):
            console.print(escape(line))


def register(app: typer.Typer) -> None:
    @app.command("quality")
    def quality_command(
        start: Annotated[
            str | None,
            typer.Option(
                "--from",
                help="First day of the period (YYYY-MM-DD); default 1 January of --to's year.",
            ),
        ] = None,
        end: Annotated[
            str | None,
            typer.Option("--to", help="Last day of the period (YYYY-MM-DD); default today."),
        ] = None,
        output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.JSON,
        lang: Annotated[Language, typer.Option("--lang")] = Language.ZH,
        by: Annotated[
            list[str] | None,
            typer.Option(
                "--by", help="Table: also show this stratum (repeatable): " + ", ".join(STRATA)
            ),
        ] = None,
        hospital: Annotated[
            list[str] | None,
            typer.Option("--hospital", help="Only patients of this hospital id (repeatable)."),
        ] = None,
        backend: Annotated[
            BackendChoice,
            typer.Option(
                "--backend",
                help="duckdb: read the tables and compute in process; postgres: compute inside "
                "the PostgreSQL store; auto: postgres for a PostgreSQL store, else duckdb.",
            ),
        ] = BackendChoice.AUTO,
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                "-o",
                help="Write to this file instead of standard output (required for pdf).",
            ),
        ] = None,
    ) -> None:
        """The quality indicators QC-01..QC-10 (rules.md §13) and QC-11 (reports) over the registry."""
        day_to = _date("--to", end) if end else dt.date.today()
        day_from = _date("--from", start) if start else dt.date(day_to.year, 1, 1)
        if day_from > day_to:
            _refuse(
                Problem(
                    "--from",
                    "INVALID_PERIOD",
                    f"--from {day_from} is after --to {day_to}",
                    ("--from <= --to",),
                )
            )
        for key in by or ():
            if key not in STRATA:
                _refuse(Problem("--by", "UNKNOWN_STRATUM", f"no stratum {key!r}", STRATA))
        if output is OutputFormat.PDF and out is None:
            _refuse(
                Problem(
                    "--out",
                    "MISSING_OPTION",
                    "--format pdf writes a file: give --out FILE",
                    ("FILE.pdf",),
                )
            )

        from bonepath.population.quality import measure_registry, read_registry
        from bonepath.settings import Settings
        from bonepath.store.repository import open_store

        errors = Console(stderr=True, soft_wrap=True, highlight=False)
        hospitals = tuple(hospital or ())
        outcomes = None
        try:
            with open_store(Settings().database_url) as store:
                dialect = store.engine.dialect.name
                chosen = backend_for(backend.value, dialect)
                if isinstance(chosen, Problem):
                    _refuse(chosen)
                if output in (OutputFormat.HTML, OutputFormat.PDF):
                    from bonepath.quality.run import report_with_outcomes

                    report, outcomes = report_with_outcomes(
                        read_registry(store, hospitals), day_from, day_to, hospitals
                    )
                else:
                    report = measure_registry(
                        store,
                        day_from,
                        day_to,
                        backend="postgres" if chosen == "postgres" else "duckdb",
                        hospitals=hospitals,
                    )
                from bonepath.population.mdt_quality import with_mdt

                report = with_mdt(report, store.engine)  # QC-13..15 (docs/quality.md)
                from bonepath.population.qc11_readers import with_readers

                report = with_readers(report, store.engine)  # QC-11 by reading radiologist
        except BonepathError as exc:
            errors.print(f"bonepath quality: {exc}", markup=False)
            raise typer.Exit(FAILURE) from None

        if output is OutputFormat.JSON:
            data = orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2) + b"\n"
        elif output is OutputFormat.FHIR:
            from bonepath.interop.measure_report import measure_bundle

            bundle = measure_bundle(
                report, generated=dt.datetime.now(dt.UTC).replace(microsecond=0)
            )
            data = orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n"
        elif output is OutputFormat.CSV:
            data = csv_text(report, lang.value).encode("utf-8-sig")
        elif output is OutputFormat.TABLE:
            buffer = io.StringIO()
            console = Console(
                file=buffer, width=160, force_terminal=out is None and sys.stdout.isatty()
            )
            render_table(report, lang.value, list(by or ()), console)
            data = buffer.getvalue().encode()
        else:
            from bonepath.quality.report import html_to_pdf, render_html

            html = render_html(report, lang.value, outcomes)
            if output is OutputFormat.PDF:
                assert out is not None
                try:
                    html_to_pdf(html, out)
                except BonepathError as exc:
                    errors.print(f"bonepath quality: {exc}", markup=False)
                    raise typer.Exit(FAILURE) from None
                return
            data = html.encode()
        if out is None:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            try:
                out.write_bytes(data)
            except OSError as exc:
                errors.print(f"bonepath quality: cannot write {out}: {exc.strerror}", markup=False)
                raise typer.Exit(FAILURE) from None
