"""The one translator from bonepath's exception tree (:mod:`bonepath.errors`) to HTTP.

=========================  ======  ==================================================
exception                  status  body
=========================  ======  ==================================================
RecordRefused              422     ``{"errors": [{path, code, problem, accepted}]}``
SafetyOverrideRequired     409     ``{"errors": [...], "warnings": [finding, ...]}``
Throttled                  429     ``{"errors": [...]}``
other InputError           422     ``{"errors": [...]}``
NotFound                   404     ``{"errors": [...]}`` (also: patient not granted)
StoreError                 503
OperationalError "locked"  503     ``{"errors": [{"code": "STORE_BUSY"}]}``, ``Retry-After`` (SQLite:
                                   a write still queued after the busy timeout)
ConfigError, other         500
LoginRequired              401     (API; pages are redirected to ``/login``)
HTTPException              as is   ``{"errors": [{"code": "FORBIDDEN", ...}]}`` (403: role, CSRF)
BodyTooLarge               413     ``{"errors": [{"code": "BODY_TOO_LARGE", ...}]}``
                                   (``/fhir``: an OperationOutcome; api/limits.py)
RequestValidationError     422     ``{"errors": [{"path": "/query/offset", ...}]}``
                                   (also a control character in the path or query:
                                   api/params.py)
=========================  ======  ==================================================

Pages (a browser asking for HTML) get the error page in the user's language instead.

Paths are JSON Pointers into the record (``/events/bta/3/dose_mg``) as everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bonepath.api.deps import LoginRequired
from bonepath.api.limits import BodyTooLarge
from bonepath.api.services import SafetyOverrideRequired
from bonepath.errors import (
    BonepathError,
    ConfigError,
    InputError,
    NotFound,
    Problem,
    RecordRefused,
    StoreError,
)
from bonepath.store.accounts import Throttled

STORE_BUSY_RETRY_S = 5

HtmlError = Callable[[Request, int], Response]
"""Renders the error page of a status for a browser (the web layer's, given to install)."""
"""Seconds a client is told to wait when the SQLite store is busy with another write."""


def wants_html(request: Request) -> bool:
    """A page request (a browser navigating), not an API call."""
    path = request.url.path
    if path.startswith(("/api", "/fhir", "/cds-services")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _errors(*problems: Problem, **extra: Any) -> dict[str, Any]:
    return {"errors": [p.to_dict() for p in problems], **extra}


def status_and_body(exc: BonepathError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of a bonepath error."""
    if isinstance(exc, SafetyOverrideRequired):
        return 409, _errors(
            Problem(
                "/override_reason",
                "SAFETY_OVERRIDE_REQUIRED",
                str(exc),
            ),
            warnings=[w.to_json() for w in exc.check.warnings],
        )
    if isinstance(exc, RecordRefused):
        return 422, exc.to_dict()
    if isinstance(exc, Throttled):
        return 429, _errors(Problem("", "LOGIN_THROTTLED", str(exc)))
    if isinstance(exc, InputError):
        return 422, _errors(Problem("", "INVALID_INPUT", str(exc)))
    if isinstance(exc, NotFound):
        return 404, _errors(Problem("", "NOT_FOUND", str(exc)))
    if isinstance(exc, StoreError):
        return 503, _errors(Problem("", "STORE_UNAVAILABLE", "the store is unavailable"))
    if isinstance(exc, ConfigError):
        return 500, _errors(Problem("", "CONFIGURATION", "the server is misconfigured"))
    return 500, _errors(Problem("", "INTERNAL", "internal error"))


_FHIR_CODES: Final = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    413: "too-costly",
    422: "invalid",
    503: "transient",
}


def _is_fhir(request: Request) -> bool:
    return request.url.path == "/fhir" or request.url.path.startswith("/fhir/")


def fhir_error(
    status: int, problems: Sequence[Problem], headers: Mapping[str, str] | None = None
) -> Response:
    """An error of ``/fhir`` as FHIR's error body: an OperationOutcome, one issue a problem."""
    from bonepath.api.fhir import FhirResponse

    code = _FHIR_CODES.get(status, "exception")
    issues = [
        {
            "severity": "error",
            "code": code,
            "diagnostics": p.problem,
            **({"expression": [p.path]} if p.path else {}),
        }
        for p in problems
    ]
    return FhirResponse(
        {"resourceType": "OperationOutcome", "issue": issues},
        status_code=status,
        headers=dict(headers or {}),
    )


def body_too_large(request: Request, exc: BodyTooLarge) -> Response:
    """The 413 of a body over its route's limit (also rendered by the limit middleware)."""
    if request.url.path == "/fhir" or request.url.path.startswith("/fhir/"):
        from bonepath.api.fhir import outcome

        return outcome(413, "too-costly", f"a request body of at most {exc.limit} bytes")
    if wants_html(request):
        return _html_error(request, 413)
    problem = Problem(
        "",
        "BODY_TOO_LARGE",
        f"the request body is larger than this route accepts ({exc.limit} bytes)",
        (f"at most {exc.limit} bytes",),
    )
    return JSONResponse(_errors(problem), status_code=413)


def _html_error(request: Request, status: int) -> Response:
    """The error page of the web layer, handed to :func:`install` (this module sits below it)."""
    render: HtmlError = request.app.state.html_error
    return render(request, status)


def install(app: FastAPI, html_error: HtmlError) -> None:
    """Register the handlers on ``app``; ``html_error`` renders the page a browser gets."""
    app.state.html_error = html_error

    async def bonepath_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BonepathError)
        status, body = status_and_body(exc)
        if _is_fhir(request):
            return fhir_error(status, [Problem.from_dict(e) for e in body.get("errors", [])])
        if wants_html(request):
            return _html_error(request, status)
        return JSONResponse(body, status_code=status)

    async def login_required(request: Request, _exc: Exception) -> Response:
        if _is_fhir(request):
            problem = Problem("", "UNAUTHENTICATED", "send Authorization: Bearer <token>")
            return fhir_error(401, [problem], {"WWW-Authenticate": "Bearer"})
        if wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return JSONResponse(
            _errors(Problem("", "UNAUTHENTICATED", "log in or send a bearer token")),
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc, BodyTooLarge):
            return body_too_large(request, exc)
        code = {403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(
            exc.status_code, f"HTTP_{exc.status_code}"
        )
        if _is_fhir(request):
            detail = str(exc.detail)
            if exc.status_code == 404 and detail == "Not Found":
                detail = f"no FHIR interaction {request.method} {request.url.path}"
            return fhir_error(
                exc.status_code, [Problem("", code, detail)], getattr(exc, "headers", None)
            )
        if wants_html(request):
            return _html_error(request, exc.status_code)
        return JSONResponse(
            _errors(Problem("", code, str(exc.detail))),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def request_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [
            Problem(
                "/" + "/".join(str(part) for part in error.get("loc", ())),
                "INVALID_REQUEST",
                str(error.get("msg", "invalid")),
            )
            for error in exc.errors()
        ]
        if _is_fhir(request):
            return fhir_error(422, problems)
        if wants_html(request):
            return _html_error(request, 422)
        return JSONResponse(_errors(*problems), status_code=422)

    async def store_busy(request: Request, exc: Exception) -> Response:
        # SQLite: a write still waiting for the one writer after the busy timeout (an import
        # holding the store). Busy, not broken: 503 with a retry hint (docs/operations.md).
        assert isinstance(exc, OperationalError)
        if "database is locked" not in str(exc.orig) and "database is busy" not in str(exc.orig):
            raise exc
        if wants_html(request):
            return _html_error(request, 503)
        problem = Problem("", "STORE_BUSY", "the store is busy with another write; try again")
        return JSONResponse(
            _errors(problem), status_code=503, headers={"Retry-After": str(STORE_BUSY_RETRY_S)}
        )

    app.add_exception_handler(OperationalError, store_busy)
    app.add_exception_handler(BonepathError, bonepath_error)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
