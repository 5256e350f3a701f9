"""`bonepath serve`: the web application (JSON API and pages) with uvicorn.

Host, port and database come from the settings (``BONEPATH_HOST``, ``BONEPATH_PORT``,
``BONEPATH_DATABASE_URL``); ``--host`` / ``--port`` override them. The access log is off:
URLs name patients, and patient data never goes to the application log (the audit log
records every access instead).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Annotated, Any

import typer


def run_server(
    host: str,
    port: int,
    *,
    today: dt.date | None = None,
    workers: int = 1,
    warm_worklists: bool = False,
) -> None:
    """Serve the app on ``host:port`` until interrupted (``today`` pins the clock: demo).

    ``workers`` > 1 starts that many server processes on the one port (uvicorn's supervisor),
    each building the app from the ``BONEPATH_*`` settings: requests are then served on as
    many cores. Everything the processes must agree on lives in the store (sessions, login
    throttling, the audit log, the CDS Hooks JWT ids); each keeps its own worklist cache,
    which re-checks the store's generation on every request.

    ``warm_worklists`` (or ``BONEPATH_WORKLIST_WARMUP=1``) evaluates every hospital's worklist
    of the day in the background at start and when the day changes, in each process.
    """
    import uvicorn

    from bonepath.api.app import create_app
    from bonepath.settings import Settings

    if warm_worklists:
        os.environ["BONEPATH_WORKLIST_WARMUP"] = "1"  # also read by the worker processes
    settings = Settings()
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "log_level": "info",
    }
    if workers > 1:
        if today is not None:
            raise ValueError("a pinned day (the demo) is served by one process")
        uvicorn.run("bonepath.api.app:create_app", factory=True, workers=workers, **common)
        return
    app = create_app(settings, today=(lambda: today) if today else None)
    uvicorn.run(app, **common)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_command(
        host: Annotated[
            str | None, typer.Option("--host", help="Address to listen on (default 127.0.0.1).")
        ] = None,
        port: Annotated[
            int | None,
            typer.Option("--port", min=1, max=65535, help="Port (default 8000)."),
        ] = None,
        workers: Annotated[
            int,
            typer.Option(
                "--workers",
                min=1,
                max=64,
                help="Server processes (default 1); e.g. the number of cores for the CDS "
                "Hooks service under load.",
            ),
        ] = 1,
        warm_worklists: Annotated[
            bool,
            typer.Option(
                "--warm-worklists",
                help="Evaluate every hospital's worklist of the day in the background at start "
                "and when the day changes (also BONEPATH_WORKLIST_WARMUP=1).",
            ),
        ] = False,
    ) -> None:
        """Serve the web application: worklists, patients, imports, the JSON API."""
        from bonepath.settings import Settings

        settings = Settings()
        run_server(
            host or settings.host,
            port or settings.port,
            workers=workers,
            warm_worklists=warm_worklists,
        )
