"""`bonepath snapshot --out DIR`: write the registry snapshot the embedded backend reads.

One Parquet file per record table and ``snapshot.json`` (docs/registry.md, "The columnar
snapshot"), replacing what was at ``DIR`` only once the new one is complete. Run it after an
import or from cron before the morning's evaluation. Exit codes: 0 written; 1 the store could
not be read or the directory not written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bonepath.cli.exit_codes import FAILURE
from bonepath.errors import BonepathError


def register(app: typer.Typer) -> None:
    @app.command("snapshot")
    def snapshot_command(
        out: Annotated[
            Path,
            typer.Option("--out", "-o", help="Directory of the snapshot (replaced whole)."),
        ],
    ) -> None:
        """Write the store's record tables as a columnar snapshot (Parquet) for the registry."""
        from bonepath.population.snapshot import write_snapshot
        from bonepath.settings import Settings
        from bonepath.store.repository import open_store

        console = Console(soft_wrap=True, highlight=False)
        try:
            with open_store(Settings().database_url) as store:
                info = write_snapshot(store, out)
        except BonepathError as exc:
            Console(stderr=True, soft_wrap=True, highlight=False).print(
                f"bonepath snapshot: {exc}", markup=False
            )
            raise typer.Exit(FAILURE) from None
        rows = sum(info.rows.values())
        console.print(
            f"已写入登记快照 {info.directory}：{info.patients:,} 名患者，{rows:,} 行"
            f"（{info.written_at:%Y-%m-%d %H:%M} UTC）\n"
            f"registry snapshot written to {info.directory}: {info.patients:,} patients, "
            f"{rows:,} rows ({info.written_at:%Y-%m-%d %H:%M} UTC)",
            markup=False,
        )
