"""CT images for the patient page: the imaging service of the app, items ↔ studies, the
"骨窗已阅" click, and key images for MDT cases (issue 17 item 2).

Tenancy as everywhere: a patient outside the caller's hospitals is :class:`NotFound`. The
record's ``bone_window_reviewed`` is set by the click (SCR-05 and QC-01 read the record), the
``imaging_studies`` row keeps who and when (:mod:`bonepath.store.imaging`), the routes audit.

For the MDT helpers: :func:`key_image_attachment` gives an MDT ``Attachment``-shaped dict
(kind ``image``, title, text, uri of the PNG) and :func:`export_key_image` the DICOM Secondary
Capture bytes of the same image.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bonepath.api.services import WEB_SOURCE_PREFIX, load_patient
from bonepath.errors import NotFound
from bonepath.record.model import Imaging, Record
from bonepath.record.parse import parse_record
from bonepath.settings import Settings
from bonepath.store import imaging as links
from bonepath.store.accounts import Principal
from bonepath.store.repository import Store

__all__ = [
    "CtItem",
    "ImagingUnavailable",
    "ReviewRefused",
    "build_service",
    "ct_items",
    "export_key_image",
    "find_item",
    "image_url",
    "key_image_attachment",
    "mark_bone_window_read",
    "resolve_study",
]


class ImagingUnavailable(LookupError):
    """No image source is configured, or the study cannot be had; ``code`` names why."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class ReviewRefused(ValueError):
    """A "骨窗已阅" click that cannot be recorded; ``code`` names why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def build_service(settings: Settings) -> Any | None:
    """The :class:`~bonepath.imaging.studies.ImagingService` the settings describe (a DICOMweb
    PACS, else a DICOM folder), or None when neither is configured."""
    from bonepath.imaging.dicomweb import DicomWebConfig
    from bonepath.imaging.studies import DicomWebSource, FolderSource, ImagingService
    from bonepath.imaging.windows import parse_windows

    windows = parse_windows(settings.imaging_windows)
    cache = settings.imaging_cache_mb * 1024 * 1024
    if settings.dicomweb_url.strip():
        verify: bool | str = settings.dicomweb_verify.strip()
        if verify in ("true", "1", "yes", ""):
            verify = True
        elif verify in ("false", "0", "no"):
            verify = False
        config = DicomWebConfig(
            base_url=settings.dicomweb_url.strip(),
            username=settings.dicomweb_username or None,
            password=settings.dicomweb_password or None,
            token=settings.dicomweb_token or None,
            timeout_s=settings.dicomweb_timeout_s,
            verify=verify,
        )
        return ImagingService(DicomWebSource(config), windows=windows, image_cache_bytes=cache)
    if settings.dicom_folder.strip():
        return ImagingService(
            FolderSource(Path(settings.dicom_folder.strip())),
            windows=windows,
            image_cache_bytes=cache,
        )
    return None


@dataclass(frozen=True)
class CtItem:
    """A CT item of the record, its key, and its study link and review (if any)."""

    key: str
    index: int
    """Position in ``events.imaging``."""
    item: Imaging
    link: links.StudyLink | None

    @property
    def date(self) -> dt.date:
        return self.item.date


def ct_items(store: Store, record: Record) -> list[CtItem]:
    """The record's CT items, latest first, with their links."""
    found = links.links_of(store.engine, record.source, record.id)
    counts: dict[tuple[dt.date, str], int] = {}
    out = []
    for index, item in enumerate(record.events.imaging):
        modality = item.modality.value
        ordinal = counts.get((item.date, modality), 0)
        counts[(item.date, modality)] = ordinal + 1
        if modality != "ct":
            continue
        key = links.item_key(item.date, modality, ordinal)
        out.append(CtItem(key, index, item, found.get(key)))
    return sorted(out, key=lambda c: (c.date, c.index), reverse=True)


def find_item(store: Store, record: Record, key: str) -> CtItem:
    for item in ct_items(store, record):
        if item.key == key:
            return item
    raise NotFound(f"imaging item {key}")


def resolve_study(
    service: Any, store: Store, principal: Principal, record: Record, item: CtItem
) -> tuple[str | None, list[dict[str, Any]]]:
    """The item's study: the linked one, else the one study of the patient on the item's day
    on the source (PatientID = the record's id), linked now. ``(None, candidates)`` when there
    is none or several (the page offers the candidates to link by hand)."""
    from bonepath.imaging.studies import StudyError

    if item.link is not None:
        return item.link.study_uid, []
    if service is None:
        raise ImagingUnavailable("NOT_CONFIGURED")
    try:
        found = service.find_studies(record.id, item.date)
    except StudyError as exc:
        raise ImagingUnavailable(exc.code, exc.detail) from exc
    if len(found) == 1:
        links.link_study(
            store.engine,
            record.source,
            record.id,
            item.key,
            found[0].study_uid,
            by=f"auto:{principal.username}",
        )
        return found[0].study_uid, []
    return None, [s.to_dict() for s in found]


def mark_bone_window_read(
    store: Store,
    principal: Principal,
    source: str,
    patient_id: str,
    key: str,
    *,
    window: Any,
    today: dt.date,
) -> tuple[Record, links.StudyLink]:
    """The "骨窗已阅" click: the item's ``bone_window_reviewed`` becomes true in the record
    (stored like a form entry) and the link row records who, role, when and the window.

    Refused (:class:`ReviewRefused`) when the window shown is not a bone window
    (``NOT_BONE_WINDOW``) or the item has no study (``NO_STUDY_LINKED``)."""
    if not window.is_bone:
        raise ReviewRefused("NOT_BONE_WINDOW")
    record = load_patient(store, principal, source, patient_id)
    item = find_item(store, record, key)
    if item.link is None:
        raise ReviewRefused("NO_STUDY_LINKED")
    if item.item.bone_window_reviewed is not True:
        data = record.to_json_dict()
        data["events"]["imaging"][item.index]["bone_window_reviewed"] = True
        record = parse_record(data, today=today)
        store.upsert_records([record], import_source=f"{WEB_SOURCE_PREFIX}{principal.username}")
    link = links.mark_reviewed(
        store.engine,
        source,
        patient_id,
        key,
        by=principal.username,
        role=principal.role.value,
        window=f"{window.name} {window.label}",
    )
    return record, link


def image_url(
    source: str,
    patient_id: str,
    study_uid: str,
    series_uid: str,
    view: str,
    index: int,
    window: str,
    *,
    fmt: str = "png",
) -> str:
    """The URL of one rendered image (``fmt`` ``dcm``: its Secondary Capture)."""
    query = {
        "source": source,
        "patient": patient_id,
        "study": study_uid,
        "series": series_uid,
        "view": view,
        "index": str(index),
        "window": window,
    }
    path = "/imaging/image" if fmt == "png" else "/imaging/capture"
    return f"{path}?{urlencode(query)}"


def export_key_image(
    service: Any,
    store: Store,
    principal: Principal,
    source: str,
    patient_id: str,
    study_uid: str,
    series_uid: str,
    *,
    view: str = "axial",
    index: int = 0,
    window: str = "bone",
) -> Any:
    """The DICOM Secondary Capture (:class:`~bonepath.imaging.capture.KeyImage`) of one image
    of a study linked to the patient (tenancy checked; NotFound otherwise)."""
    from bonepath.imaging.capture import key_image_bytes

    record = load_patient(store, principal, source, patient_id)
    check_study(store, record, study_uid)
    volume = service.volume(study_uid, series_uid)
    name = record.identity.name if record.identity and record.identity.name else ""
    return key_image_bytes(
        volume,
        "sagittal" if view == "sagittal" else "axial",
        index,
        service.window(window),
        patient_id=record.id,
        patient_name=name,
    )


def key_image_attachment(
    source: str,
    patient_id: str,
    study_uid: str,
    series_uid: str,
    *,
    view: str = "axial",
    index: int = 0,
    window: str = "bone",
    window_label: str = "",
    lang: str = "zh",
) -> dict[str, Any]:
    """An MDT case attachment (``bonepath.mdt.Attachment`` fields kind, title, text, uri) that
    points at a rendered key image; the uri serves the PNG (add ``&format=dcm``… see
    :func:`image_url` with ``fmt="dcm"`` for the Secondary Capture)."""
    if lang == "zh":
        what = f"矢状位脊柱重建 第{index + 1}列" if view == "sagittal" else f"轴位 第{index + 1}层"
        title = f"CT关键图像：{what}（{window}窗）"
    else:
        what = f"sagittal spine reformat, column {index + 1}" if view == "sagittal" else f"axial image {index + 1}"
        title = f"CT key image: {what} ({window} window)"
    return {
        "kind": "image",
        "title": title,
        "text": f"study {study_uid}, series {series_uid}, {window} window {window_label}".strip(),
        "uri": image_url(source, patient_id, study_uid, series_uid, view, index, window),
        "dicom_uri": image_url(
            source, patient_id, study_uid, series_uid, view, index, window, fmt="dcm"
        ),
    }


def check_study(store: Store, record: Record, study_uid: str) -> None:
    """NotFound unless ``study_uid`` is linked to one of the record's items."""
    found = links.links_of(store.engine, record.source, record.id)
    if not any(link.study_uid == study_uid for link in found.values()):
        raise NotFound(f"study {study_uid}")


class ImageGrants:
    """Who may fetch images of which study, remembered for a few minutes so that scrolling
    does not reload the patient for every image (the first image checks tenancy and the link;
    a new link or a changed grant is seen after ``ttl_s``)."""

    def __init__(self, ttl_s: float = 300.0) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._granted: dict[tuple[int, str, str, str], float] = {}

    def check(self, store: Store, principal: Principal, source: str, patient: str, study: str) -> None:
        key = (principal.user_id, source, patient, study)
        now = time.monotonic()
        with self._lock:
            expiry = self._granted.get(key)
        if expiry is not None and expiry > now:
            return
        record = load_patient(store, principal, source, patient)
        check_study(store, record, study)
        with self._lock:
            if len(self._granted) > 10_000:
                self._granted.clear()
            self._granted[key] = now + self.ttl_s

