"""Body limits per route (issue 13 item 11), enforced while the body streams in: a chunked
body (no Content-Length), or one whose Content-Length lies, is answered 413 after at most the
limit and one chunk has been read; a declared length over the limit is answered before any
byte is read. The app is driven as ASGI with a body source that counts what it hands out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any, Final

import pytest

from bonepath.api.app import create_app
from bonepath.settings import Settings
from bonepath.store import accounts
from bonepath.store.repository import Store

CHUNK: Final = 16 * 1024
CHUNKS: Final = 4096  # 64 MiB on offer, far beyond every limit below
LIMITS: Final = {"default": 64 * 1024, "interop": 128 * 1024, "imports": 256 * 1024}


class Sender:
    """An endless chunked body: ``first`` then zero-filled chunks; counts what was read."""

    def __init__(self, first: bytes = b"") -> None:
        self.first = first
        self.read = 0
        self.chunks = 0

    async def receive(self) -> dict[str, Any]:
        if self.chunks >= CHUNKS:
            return {"type": "http.request", "body": b"", "more_body": False}
        body = self.first if self.chunks == 0 and self.first else b"0" * CHUNK
        self.chunks += 1
        self.read += len(body)
        return {"type": "http.request", "body": body, "more_body": True}


def _call(
    app: Any, path: str, headers: dict[str, str], sender: Sender
) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, sender.receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, body


@pytest.fixture
def app(store: Store, db_url: str) -> Iterator[Any]:
    settings = Settings(
        database_url=db_url,
        body_limit_bytes=LIMITS["default"],
        body_limit_interop_bytes=LIMITS["interop"],
        body_limit_import_bytes=LIMITS["imports"],
    )
    yield create_app(settings, store=store)


def _bearer(store: Store, user: str = "doc_a") -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_api_token(store.engine, user, 'limits')}"}


@pytest.mark.parametrize(
    ("path", "content_type", "first", "limit"),
    [
        ("/api/patients/his/A-DUE/events/labs", "application/json", b'{"event": "', "default"),
        ("/fhir", "application/fhir+json", b'{"resourceType": "Bundle", "x": "', "interop"),
        (
            "/api/imports",
            "multipart/form-data; boundary=XyZ",
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.json"\r\n'
            b"Content-Type: application/json\r\n\r\n",
            "imports",
        ),
    ],
)
def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(
    app: Any, store: Store, path: str, content_type: str, first: bytes, limit: str
) -> None:
    sender = Sender(first)
    headers = {**_bearer(store), "Content-Type": content_type, "Transfer-Encoding": "chunked"}
    status, response_headers, body = _call(app, path, headers, sender)
    assert status == 413
    # read no further than the chunk that passed the limit, of the 64 MiB offered
    assert LIMITS[limit] < sender.read <= LIMITS[limit] + CHUNK
    assert sender.chunks < CHUNKS
    data = json.loads(body)
    if path == "/fhir":
        assert data["resourceType"] == "OperationOutcome"
        assert data["issue"][0]["code"] == "too-costly"
    else:
        assert data["errors"][0]["code"] == "BODY_TOO_LARGE"
    assert response_headers["x-content-type-options"] == "nosniff"  # the usual headers


def test_a_lying_content_length_does_not_lift_the_limit(app: Any, store: Store) -> None:
    sender = Sender(b'{"event": "')
    headers = {**_bearer(store), "Content-Type": "application/json", "Content-Length": "100"}
    status, _headers, body = _call(app, "/api/patients/his/A-DUE/events/labs", headers, sender)
    assert status == 413
    assert sender.read <= LIMITS["default"] + CHUNK
    assert json.loads(body)["errors"][0]["code"] == "BODY_TOO_LARGE"


def test_a_declared_length_over_the_limit_is_refused_before_reading(app: Any, store: Store) -> None:
    sender = Sender()
    headers = {
        **_bearer(store),
        "Content-Type": "application/fhir+json",
        "Content-Length": str(200 * 1024 * 1024),
    }
    status, _headers, body = _call(app, "/fhir", headers, sender)
    assert status == 413
    assert sender.chunks == 0
    assert json.loads(body)["resourceType"] == "OperationOutcome"


def test_each_route_has_its_own_limit(app: Any, store: Store) -> None:
    """A body over the default limit but under the import limit reaches the import."""
    record = json.dumps({"format": "bonepath-record/1", "id": "BIG", "note": "x" * 100_000})
    multipart = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.json"\r\n'
        b"Content-Type: application/json\r\n\r\n" + record.encode() + b"\r\n--XyZ--\r\n"
    )
    assert LIMITS["default"] < len(multipart) < LIMITS["imports"]

    class Whole(Sender):
        async def receive(self) -> dict[str, Any]:
            self.chunks += 1
            self.read += len(multipart)
            return {"type": "http.request", "body": multipart, "more_body": False}

    headers = {**_bearer(store), "Content-Type": "multipart/form-data; boundary=XyZ"}
    status, _headers, body = _call(app, "/api/imports", headers, Whole())
    assert status == 200, body
    assert json.loads(body)["refused"] == 1  # read and refused as a record, not as a size
