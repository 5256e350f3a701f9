"""A DICOMweb client for a PACS: QIDO-RS searches and WADO-RS retrieval, over httpx.

Configuration (docs/imaging.md "Connecting a PACS"): the service's base URL (e.g.
``https://pacs.example.org/dicom-web`` or Orthanc's ``http://host:8042/dicom-web``), and one of
HTTP basic credentials or a bearer token; a timeout; whether TLS certificates are verified (a
CA bundle path may be given). Only GETs are sent; nothing is stored on the PACS.

- :meth:`DicomWebClient.find_studies` — QIDO-RS ``/studies`` by PatientID, StudyDate,
  modality;
- :meth:`DicomWebClient.series` — QIDO-RS ``/studies/{uid}/series`` plus, per series, the
  header of one instance (WADO-RS metadata: kernel, window presets), for the bone-window
  decision;
- :meth:`DicomWebClient.retrieve_series` — WADO-RS ``/studies/{uid}/series/{uid}`` as
  ``multipart/related; type="application/dicom"; transfer-syntax=*`` (the stored encoding:
  JPEG 2000 and JPEG-LS are decoded here, not by the PACS) → pydicom datasets;
- :meth:`DicomWebClient.load_volume` — the same, stacked into a :class:`~.dicom.Volume`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import httpx
import pydicom
from pydicom.dataset import Dataset

from bonepath.imaging.dicom import (
    DicomReadError,
    SeriesInfo,
    Volume,
    series_info,
    volume_from_datasets,
)

__all__ = [
    "DicomWebClient",
    "DicomWebConfig",
    "DicomWebError",
    "StudySummary",
    "parse_multipart",
]

UID: Final = re.compile(r"^[0-9]+(\.[0-9]+)*$")
"""A DICOM UID: digits and dots (max 64), the only thing put into a DICOMweb path."""


class DicomWebError(RuntimeError):
    """The PACS could not be reached or answered with an error; ``code`` names which."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class DicomWebConfig:
    """How to reach a DICOMweb service."""

    base_url: str
    username: str | None = None
    password: str | None = None
    token: str | None = None
    timeout_s: float = 30.0
    verify: bool | str = True


@dataclass(frozen=True)
class StudySummary:
    """One study as QIDO-RS lists it."""

    study_uid: str
    patient_id: str
    study_date: dt.date | None
    description: str
    modalities: tuple[str, ...]
    series_count: int | None
    accession: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_uid": self.study_uid,
            "patient_id": self.patient_id,
            "study_date": self.study_date.isoformat() if self.study_date else None,
            "description": self.description,
            "modalities": list(self.modalities),
            "series_count": self.series_count,
            "accession": self.accession,
        }


def check_uid(uid: str) -> str:
    if len(uid) > 64 or not UID.match(uid):
        raise DicomWebError("BAD_UID", "a DICOM UID is digits and dots, at most 64 characters")
    return uid


def _value(item: Mapping[str, Any], tag: str) -> Any:
    element = item.get(tag)
    if not isinstance(element, Mapping):
        return None
    values = element.get("Value")
    if not values:
        return None
    first = values[0]
    if isinstance(first, Mapping) and "Alphabetic" in first:  # a person name
        return first["Alphabetic"]
    return first


def _values(item: Mapping[str, Any], tag: str) -> list[Any]:
    element = item.get(tag)
    if not isinstance(element, Mapping):
        return []
    return list(element.get("Value") or [])


def _date(text: Any) -> dt.date | None:
    if not isinstance(text, str) or len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _dataset(item: Mapping[str, Any]) -> Dataset:
    """A header from DICOM JSON, without the bulk data it only links to (pixel data, private
    blobs): the headers read here are text and numbers."""
    return Dataset.from_json(_without_bulk(item))


def _without_bulk(item: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for tag, element in item.items():
        if not isinstance(element, Mapping) or "BulkDataURI" in element:
            continue
        if element.get("vr") == "SQ" and isinstance(element.get("Value"), list):
            element = {
                **element,
                "Value": [_without_bulk(v) for v in element["Value"] if isinstance(v, Mapping)],
            }
        kept[tag] = element
    return kept


def parse_multipart(content_type: str, body: bytes) -> Iterator[bytes]:
    """The parts of a ``multipart/related`` body (RFC 2046), each part's content."""
    match = re.search(r'boundary="?([^";,]+)"?', content_type, re.IGNORECASE)
    if match is None:
        raise DicomWebError("BAD_RESPONSE", "a multipart answer without a boundary")
    delimiter = b"--" + match.group(1).encode("ascii")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):  # the close delimiter
            break
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        # the CRLF before the next delimiter belongs to the delimiter
        if content.endswith(b"\r\n"):
            content = content[:-2]
        yield content


class DicomWebClient:
    """A QIDO-RS / WADO-RS client (one ``httpx.Client``, thread-safe for GETs)."""

    def __init__(self, config: DicomWebConfig, *, transport: httpx.BaseTransport | None = None):
        headers = {"User-Agent": "bonepath-dicomweb"}
        auth: httpx.Auth | None = None
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        elif config.username:
            auth = httpx.BasicAuth(config.username, config.password or "")
        self.config = config
        self._client = httpx.Client(
            base_url=config.base_url.rstrip("/"),
            headers=headers,
            auth=auth,
            timeout=config.timeout_s,
            verify=config.verify,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> DicomWebClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- HTTP ---------------------------------------------------------------------------------

    def _get(self, path: str, *, params: Mapping[str, str] | None = None, accept: str) -> httpx.Response:
        try:
            response = self._client.get(path, params=params, headers={"Accept": accept})
        except httpx.TimeoutException as exc:
            raise DicomWebError("PACS_TIMEOUT", f"the PACS did not answer in time ({exc})") from exc
        except httpx.HTTPError as exc:
            raise DicomWebError("PACS_UNREACHABLE", f"the PACS cannot be reached ({exc})") from exc
        if response.status_code in (401, 403):
            raise DicomWebError("PACS_AUTH", f"the PACS refused the credentials ({response.status_code})")
        if response.status_code == 404:
            raise DicomWebError("PACS_NOT_FOUND", f"not on the PACS: {path}")
        if response.status_code == 204:
            return response
        if response.status_code >= 400:
            raise DicomWebError("PACS_ERROR", f"the PACS answered {response.status_code} for {path}")
        return response

    def _json(self, path: str, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        response = self._get(path, params=params, accept="application/dicom+json")
        if response.status_code == 204 or not response.content.strip():
            return []
        try:
            data = response.json()
        except ValueError as exc:
            raise DicomWebError("BAD_RESPONSE", "the PACS answered no DICOM JSON") from exc
        if not isinstance(data, list):
            raise DicomWebError("BAD_RESPONSE", "the PACS answered no DICOM JSON list")
        return [d for d in data if isinstance(d, dict)]

    # -- QIDO-RS ------------------------------------------------------------------------------

    def find_studies(
        self,
        *,
        patient_id: str | None = None,
        study_date: dt.date | None = None,
        modality: str | None = "CT",
        limit: int = 50,
    ) -> list[StudySummary]:
        """Studies of a patient (optionally on one day, holding a modality), newest first."""
        params: dict[str, str] = {
            "limit": str(limit),
            "includefield": "00081030,00080061,00201206,00080050",
        }
        if patient_id:
            params["PatientID"] = patient_id
        if study_date:
            params["StudyDate"] = study_date.strftime("%Y%m%d")
        if modality:
            params["ModalitiesInStudy"] = modality
        found = []
        for item in self._json("/studies", params):
            uid = _value(item, "0020000D")
            if not isinstance(uid, str) or not UID.match(uid):
                continue
            count = _value(item, "00201206")
            found.append(
                StudySummary(
                    study_uid=uid,
                    patient_id=str(_value(item, "00100020") or ""),
                    study_date=_date(_value(item, "00080020")),
                    description=str(_value(item, "00081030") or ""),
                    modalities=tuple(str(m) for m in _values(item, "00080061")),
                    series_count=int(count) if isinstance(count, int | float | str) and str(count).isdigit() else None,
                    accession=str(_value(item, "00080050") or ""),
                )
            )
        return sorted(found, key=lambda s: (s.study_date or dt.date.min), reverse=True)

    def instance_metadata(self, study_uid: str, series_uid: str) -> list[dict[str, Any]]:
        """WADO-RS metadata of every instance of a series (DICOM JSON, no pixel data)."""
        path = f"/studies/{check_uid(study_uid)}/series/{check_uid(series_uid)}/metadata"
        return self._json(path)

    def series(self, study_uid: str) -> list[SeriesInfo]:
        """The series of a study, each with the header of one of its instances."""
        check_uid(study_uid)
        out = []
        for item in self._json(f"/studies/{study_uid}/series"):
            series_uid = _value(item, "0020000E")
            if not isinstance(series_uid, str) or not UID.match(series_uid):
                continue
            count = _value(item, "00201209")
            instances = self._json(
                f"/studies/{study_uid}/series/{series_uid}/instances", {"limit": "1"}
            )
            header = Dataset()
            if instances:
                sop = _value(instances[0], "00080018")
                if isinstance(sop, str) and UID.match(sop):
                    meta = self._json(
                        f"/studies/{study_uid}/series/{series_uid}/instances/{sop}/metadata"
                    )
                    if meta:
                        header = _dataset(meta[0])
            if "SeriesInstanceUID" not in header:
                header = _dataset(item)
            n = int(count) if isinstance(count, int | float | str) and str(count).isdigit() else 0
            out.append(series_info(header, n))
        return out

    # -- WADO-RS ------------------------------------------------------------------------------

    def retrieve_series(self, study_uid: str, series_uid: str) -> list[Dataset]:
        """Every instance of a series, as stored (``transfer-syntax=*``)."""
        path = f"/studies/{check_uid(study_uid)}/series/{check_uid(series_uid)}"
        response = self._get(
            path, accept='multipart/related; type="application/dicom"; transfer-syntax=*'
        )
        content_type = response.headers.get("content-type", "")
        datasets: list[Dataset] = []
        for part in parse_multipart(content_type, response.content):
            try:
                datasets.append(pydicom.dcmread(io.BytesIO(part)))
            except Exception as exc:  # a part that is no DICOM file
                raise DicomWebError("BAD_RESPONSE", f"a part is no DICOM instance ({exc})") from exc
        if not datasets:
            raise DicomWebError("PACS_NOT_FOUND", f"no instance in series {series_uid}")
        return datasets

    def load_volume(self, study_uid: str, series_uid: str, *, workers: int = 2) -> Volume:
        """Retrieve a series and stack it into HU (pixel data decoded on ``workers`` threads)."""
        datasets = self.retrieve_series(study_uid, series_uid)
        return decode_volume(datasets, workers=workers)


def decode_volume(datasets: Sequence[Dataset], *, workers: int = 2) -> Volume:
    """:func:`~.dicom.volume_from_datasets`, decoding the pixel data on threads first (the
    OpenJPEG and CharLS decoders release the GIL)."""
    if workers > 1 and len(datasets) > 4:

        def warm(ds: Dataset) -> None:
            try:
                ds.pixel_array  # noqa: B018 - decodes and caches on the dataset
            except Exception:  # reported by volume_from_datasets with its code
                return

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(warm, datasets))
    try:
        return volume_from_datasets(datasets)
    except DicomReadError:
        raise
