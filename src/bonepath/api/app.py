"""The web application: ``create_app(settings) -> FastAPI``, served by ``bonepath serve``.

One FastAPI app carries the JSON API (``/api/...``, OpenAPI at ``/api/docs`` and
``/api/openapi.json``) and the server-rendered pages (:mod:`bonepath.web`), on one open store.

Adding a router (FHIR, CDS Hooks, the quality dashboard, ...)
----------------------------------------------------------------

Write an ``APIRouter`` in your own module and add **one line** to :func:`include_routers`::

    app.include_router(my_module.router)            # its paths carry their own prefix

Inside the router, use the shared dependencies of :mod:`bonepath.api.deps`:

- ``principal: CurrentPrincipal`` (or ``Depends(current_principal)``): the caller, from a
  bearer token (``Authorization: Bearer bp_...``, created by ``bonepath user token``) or the
  browser session; 401 otherwise. CSRF is enforced for cookie-authenticated writes.
- ``Depends(require(Permission.QUALITY))``: the caller, who must hold a permission (403).
- ``context: Context``: ``context.store`` (the open :class:`~bonepath.store.repository.Store`),
  ``context.settings``, ``context.today()`` (the app's clock; pinned in tests and the demo).
- tenancy: ``principal.sees(hospital_id)`` / ``principal.hospital_filter()``, or
  :func:`bonepath.api.services.load_patient` (404 outside the caller's hospitals).
- audit: ``deps.audit(request, principal, "fhir.read", patient=(source, id), hospital=h)``
  for every read or write of patient data.
- errors: raise from :mod:`bonepath.errors`; :mod:`bonepath.api.errors` maps them to HTTP.

A page of the UI extends ``web/templates/base.html`` and renders with
:func:`bonepath.web.pages.render` (language, CSRF token and the menu come with it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

from fastapi import Depends, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from bonepath import __version__
from bonepath.api import errors
from bonepath.api.deps import AppContext
from bonepath.api.limits import BodyLimitMiddleware, limits_of
from bonepath.api.params import refuse_control_characters
from bonepath.api.services import WorklistWarmer
from bonepath.settings import Settings
from bonepath.store.repository import Store, open_store

STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "web" / "static"

SECURITY_HEADERS: Final = {
    # every asset is served by the app; no inline script, nothing from elsewhere
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def include_routers(app: FastAPI) -> None:
    """Every router of the application, in one place (one line each)."""
    from bonepath.api import cds_hooks, fhir_bulk
    from bonepath.api import fhir as fhir_api
    from bonepath.api.routes import audit_routes, imports, me, patients, tasks, worklist
    from bonepath.web import admin_pages, pages, quality_pages

    app.include_router(me.router)
    app.include_router(patients.router)
    app.include_router(worklist.router)
    app.include_router(imports.router)
    app.include_router(audit_routes.router)
    app.include_router(tasks.router)
    from bonepath.api.routes import entries as entry_routes  # corrections (issue 15)

    app.include_router(entry_routes.router)
    app.include_router(pages.router)
    app.include_router(quality_pages.router)
    app.include_router(admin_pages.router)
    from bonepath.api.routes import mdt as mdt_api  # MDT cases, meetings, decisions (issue 16)
    from bonepath.web import mdt_pages

    app.include_router(mdt_api.router)
    app.include_router(mdt_pages.router)
    from bonepath.web import imaging_pages  # CT viewer, bone-window review (issue 17)

    app.include_router(imaging_pages.router)
    from bonepath.web import record_forms  # a form for every fact, corrections (issue 15)

    app.include_router(record_forms.router)
    from bonepath.web import mdt_network_pages  # regional MDT network (issue 16 item 4)

    app.include_router(mdt_network_pages.router)
    app.include_router(fhir_bulk.router)  # before /fhir/Patient/{id}: Patient/$export
    app.include_router(fhir_api.router)
    app.include_router(cds_hooks.router)
    cds_hooks.install_cors(app)  # BONEPATH_CDS_CORS_ORIGINS: /cds-services and /fhir only


def create_app(
    settings: Settings | None = None,
    *,
    today: Callable[[], dt.date] | None = None,
    store: Store | None = None,
) -> FastAPI:
    """The application on ``settings.database_url`` (migrated on open).

    ``today`` is the clock that says which day "today" is (worklists, future-date checks);
    the real date by default, pinned by tests and ``bonepath demo``. ``store`` reuses an open
    store (it is then not closed with the app).
    """
    settings = settings or Settings()
    owned = store is None
    the_store = store if store is not None else open_store(settings.database_url)

    context = AppContext(settings, the_store, today or dt.date.today)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        warmer = None
        if settings.worklist_warmup:
            warmer = WorklistWarmer(the_store, context.worklists, context.today)
            warmer.start()
            _app.state.worklist_warmer = warmer
        from bonepath.api import cds_hooks  # the first CDS Hooks call as fast as the next

        _app.state.cds_warmed_up = await cds_hooks.warm_up(_app, context.today())
        yield
        if warmer is not None:
            warmer.stop()
        if owned:
            the_store.close()

    app = FastAPI(
        title="bonepath",
        version=__version__,
        description="Care pathways for lung cancer with bone metastasis: records, findings, "
        "worklists and imports. Authenticate with `Authorization: Bearer <token>` "
        "(`bonepath user token NAME`).",
        docs_url=None,  # Swagger UI would load from a CDN; the schema is at openapi_url
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
        # edge validation of every route: no control character in the path or a query value
        dependencies=[Depends(refuse_control_characters)],
    )
    app.state.bonepath = context
    from bonepath.web.pages import error_page  # the composition root wires web into api

    errors.install(app, html_error=error_page)
    # inside the security headers (added below, so outside): its 413 carries them
    app.add_middleware(
        BodyLimitMiddleware, limits=limits_of(settings), refuse=errors.body_too_large
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    include_routers(app)
    return app
