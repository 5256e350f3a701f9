"""Request body limits, enforced while the body streams in (an ASGI middleware).

Each request gets the limit of its route (:meth:`BodyLimits.for_path`): file imports the
largest, FHIR Bundles and CDS Hooks calls a moderate one, everything else (JSON events, forms,
login) a small one; all three are settings (``BONEPATH_BODY_LIMIT_*``, docs/operations.md
"Request limits"). :class:`BodyLimitMiddleware` counts the bytes the application receives and
raises :class:`BodyTooLarge` (413) in the reader as soon as the count passes the limit, so a
body is never buffered beyond it, whether ``Content-Length`` is absent (chunked), honest or
lies; a declared ``Content-Length`` over the limit is answered 413 before the application runs.
The 413 is rendered by the usual translator (:mod:`bonepath.api.errors`: ``{"errors": [...]}``,
an OperationOutcome under ``/fhir``, the error page for a browser).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MiB: Final = 1024 * 1024

IMPORT_PATHS: Final = ("/api/imports", "/import")
INTEROP_PATHS: Final = ("/fhir", "/cds-services")


class BodyTooLarge(HTTPException):
    """The request body passed the route's limit (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(413, f"the request body is larger than {limit} bytes")


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """Bytes a request body may hold, by route."""

    default: int
    imports: int
    interop: int

    def for_path(self, path: str) -> int:
        if _under(path, IMPORT_PATHS):
            return self.imports
        if _under(path, INTEROP_PATHS):
            return self.interop
        return self.default


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Counts the body bytes an HTTP request delivers; past its limit the read raises
    :class:`BodyTooLarge` (the reader stops pulling from the connection) and later reads see
    a disconnect. ``refuse`` renders the 413 of a declared ``Content-Length`` over the limit."""

    def __init__(
        self, app: ASGIApp, limits: BodyLimits, refuse: Callable[[Request, BodyTooLarge], Response]
    ) -> None:
        self.app = app
        self.limits = limits
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            response = self.refuse(Request(scope), BodyTooLarge(limit))
            await response(scope, receive, send)
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


def limits_of(settings: Any) -> BodyLimits:
    """The limits of :class:`~bonepath.settings.Settings`."""
    return BodyLimits(
        default=settings.body_limit_bytes,
        imports=settings.body_limit_import_bytes,
        interop=settings.body_limit_interop_bytes,
    )
