"""`bonepath export --format fhir|ndjson`: stored patients out as FHIR R4 (docs/fhir.md).

``--format ndjson`` writes a FHIR Bulk Data export: a directory with one ``<Type>.ndjson``
per resource type (what ``bonepath import DIR`` and a regional registry read);
``--format fhir`` writes one ``collection`` Bundle (``.json``). Which patients: one or more
``--patient SOURCE/ID``, every patient of ``--hospital ID`` (repeatable), or everything.
Records are read in batches and written as they come: memory does not grow with the store.
Exit codes: 0 written; 1 the store could not be read, a patient does not exist, or the
output could not be written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from bonepath.cli.exit_codes import FAILURE
from bonepath.errors import BonepathError, NotFound


def _key(text: str) -> tuple[str, str]:
    source, sep, id_ = text.partition("/")
    if not sep or not source or not id_:
        raise typer.BadParameter(f"{text!r}: SOURCE/ID expected (his/A-001)")
    return source, id_


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_command(
        out: Annotated[
            Path,
            typer.Option("--out", "-o", help="Directory (ndjson) or .json file (fhir) to write."),
        ],
        format: Annotated[
            Literal["fhir", "ndjson"],
            typer.Option(
                "--format",
                "-f",
                help="ndjson: one file per resource type (Bulk Data); fhir: one collection Bundle.",
            ),
        ] = "ndjson",
        patient: Annotated[
            list[str] | None,
            typer.Option("--patient", "-p", help="SOURCE/ID of a patient (repeatable)."),
        ] = None,
        hospital: Annotated[
            list[str] | None,
            typer.Option("--hospital", help="Every patient of this hospital id (repeatable)."),
        ] = None,
    ) -> None:
        """Export stored patients as FHIR R4: a patient, a hospital or everything."""
        from bonepath.interop.fhir.export import Selection, records, write_bundle, write_ndjson
        from bonepath.settings import Settings
        from bonepath.store.repository import open_store

        keys = [_key(p) for p in patient] if patient else None
        selection = Selection(hospitals=hospital or None, keys=keys)
        err = Console(stderr=True, soft_wrap=True, highlight=False)
        try:
            with open_store(Settings().database_url) as store:
                for source, id_ in keys or ():
                    if store.get_record(source, id_) is None:
                        raise NotFound(f"no patient {source}/{id_}")
                chosen = records(store, selection)
                if format == "ndjson":
                    written = write_ndjson(chosen, out)
                else:
                    written = write_bundle(chosen, out)
        except (BonepathError, OSError) as exc:
            err.print(f"bonepath export: {exc}", markup=False)
            raise typer.Exit(FAILURE) from None
        console = Console(soft_wrap=True, highlight=False)
        console.print(
            f"已导出 {len(written.patients):,} 名患者、{written.resources:,} 个 FHIR 资源到 {out}\n"
            f"exported {len(written.patients):,} patients, {written.resources:,} FHIR "
            f"resources to {out}",
            markup=False,
        )
        for kind, (path, count) in written.files.items():
            console.print(f"  {path.name}: {count:,} {kind}", markup=False)
