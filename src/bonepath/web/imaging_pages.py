"""The CT viewer of the patient page and its routes (issue 17 item 2; docs/imaging.md).

- the panel (``templates/imaging_panel.html``, included by ``patient.html``; data from
  :func:`imaging_panel`): the record's CT items, latest first, each with its study link and
  who marked its bone window read, and the viewer (``static/imaging.js``, no library);
- ``GET /imaging/study`` (JSON): the item's study — linked, or found on the PACS by the
  patient's id and the item's day and linked now — opened (series chosen, loaded);
- ``GET /imaging/image`` (PNG) and ``GET /imaging/capture`` (DICOM Secondary Capture) of one
  axial slice or sagittal column in a named window;
- ``POST /imaging/review``: "骨窗已阅" — the item's ``bone_window_reviewed`` becomes true,
  who/role/when/window are kept, one audit row (``imaging.bone_window_reviewed``);
- ``POST /imaging/link``: link an item to a study by hand (StudyInstanceUID).

The image source lives on ``app.state.bonepath_imaging`` (built from the settings on first
use; tests may put their own there).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from bonepath.api import deps
from bonepath.api import imaging as svc
from bonepath.api.params import KEY_MAX
from bonepath.api.services import hospital_of, load_patient
from bonepath.errors import NotFound
from bonepath.record.model import Record
from bonepath.store import imaging as links
from bonepath.store import mdt as mdt_store
from bonepath.store.accounts import Permission, Principal
from bonepath.web.i18n import Lang, gettext
from bonepath.web.pages import N_, patient_url, request_lang

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]
Reviewer = Annotated[Principal, Depends(deps.require(Permission.REVIEW_IMAGES))]
Exporter = Annotated[Principal, Depends(deps.require(Permission.EXPORT))]

UID_PATTERN: Final = r"^[0-9]+(\.[0-9]+)*$"
UID_RE: Final = re.compile(UID_PATTERN)
Uid = Annotated[str, Query(max_length=64, pattern=UID_PATTERN)]
SourceQ = Annotated[str, Query(min_length=1, max_length=KEY_MAX)]
PatientQ = Annotated[str, Query(min_length=1, max_length=KEY_MAX)]
ItemKey = Annotated[str, Query(max_length=64, pattern=r"^\d{4}-\d{2}-\d{2}/ct/\d{1,3}$")]

MESSAGES: Final = {
    "NOT_CONFIGURED": N_(
        "No image source is configured (BONEPATH_DICOMWEB_URL or BONEPATH_DICOM_FOLDER)."
    ),
    "NO_STUDY": N_(
        "No CT study of this patient on this day was found on the PACS; link one by its StudyInstanceUID."
    ),
    "SEVERAL_STUDIES": N_("Several CT studies of this patient on this day; choose one to link."),
    "PACS_UNREACHABLE": N_("The PACS cannot be reached; try again later or tell the administrator."),
    "PACS_TIMEOUT": N_("The PACS did not answer in time; try again."),
    "PACS_AUTH": N_("The PACS refused bonepath's credentials; tell the administrator."),
    "PACS_NOT_FOUND": N_("The study is no longer on the PACS."),
    "PACS_ERROR": N_("The PACS answered with an error; try again or tell the administrator."),
    "BAD_RESPONSE": N_("The PACS sent something that is not DICOM; tell the administrator."),
    "NO_CT_SERIES": N_("The study has no CT image series to show."),
    "NO_SUCH_STUDY": N_("The study is no longer in the image folder."),
    "NO_SUCH_SERIES": N_("The series is no longer in the study."),
    "CANNOT_DECODE": N_("The images are in an encoding bonepath cannot decode."),
    "NO_IMAGES": N_("The study holds no images."),
    "MIXED_SIZES": N_("The series mixes image sizes and cannot be shown as one volume."),
    "NOT_BONE_WINDOW": N_("Mark the bone window as read while the bone window is shown."),
    "NO_STUDY_LINKED": N_("Open the item's CT images before marking the bone window as read."),
    "BAD_UID": N_("A StudyInstanceUID is digits and dots, at most 64 characters."),
    "NO_OPEN_MDT_CASE": N_(
        "The patient has no open MDT case; submit one from the worklist (MDT-01) or the MDT pages first."
    ),
}


@dataclass
class ImagingState:
    """The app's image source (or None), and who was granted which study's images."""

    service: Any | None
    grants: svc.ImageGrants = field(default_factory=svc.ImageGrants)


_STATE_LOCK = threading.Lock()


def imaging_state(request: Request) -> ImagingState:
    state: ImagingState | None = getattr(request.app.state, "bonepath_imaging", None)
    if state is None:
        with _STATE_LOCK:
            state = getattr(request.app.state, "bonepath_imaging", None)
            if state is None:
                state = ImagingState(svc.build_service(deps.app_context(request).settings))
                request.app.state.bonepath_imaging = state
    return state


def message(lang: Lang, code: str) -> str:
    return gettext(lang, MESSAGES.get(code, N_("The images cannot be shown.")))


WINDOW_LABELS: Final = {
    "bone": N_("Bone window"),
    "mediastinum": N_("Mediastinal window"),
    "lung": N_("Lung window"),
}


def imaging_panel(request: Request, context: deps.AppContext, record: Record) -> dict[str, Any]:
    """What the patient page's CT panel shows (``patient_context`` adds it as ``imaging``):
    the CT items, latest first, each with its study and who marked its bone window read and
    when (in the app's time zone), the windows with their labels in the page's language."""
    from bonepath.web.pages import ROLE_LABELS

    state = imaging_state(request)
    lang = request_lang(request)
    zone = context.settings.zone
    rows = []
    for c in svc.ct_items(context.store, record):
        reviewed = None
        if c.link is not None and c.link.reviewed_at is not None:
            role = c.link.reviewed_role or ""
            reviewed = {
                "by": c.link.reviewed_by,
                "role": gettext(lang, ROLE_LABELS[role]) if role in ROLE_LABELS else role,
                "at": c.link.reviewed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "window": c.link.reviewed_window,
            }
        rows.append(
            {
                "key": c.key,
                "date": c.date,
                "region": c.item.region.value if c.item.region else None,
                "flag": c.item.bone_window_reviewed,
                "study": c.link.study_uid if c.link else None,
                "reviewed": reviewed,
            }
        )
    windows = list(state.service.windows.values()) if state.service is not None else []
    problem = request.query_params.get("imaging_problem")
    attached = request.query_params.get("case", "")
    return {
        "attached_case": int(attached) if attached.isdigit() and len(attached) < 10 else None,
        "open_case": mdt_store.open_case_of(context.store.engine, record.source, record.id)
        if rows and state.service is not None
        else None,
        "configured": state.service is not None,
        "items": rows,
        "windows": [
            {
                "name": w.name,
                "label": gettext(lang, WINDOW_LABELS[w.name]) if w.name in WINDOW_LABELS else w.name,
                "setting": w.label,
                "bone": w.is_bone,
            }
            for w in windows
        ],
        "problem": message(lang, problem) if problem else None,
    }


def _json_error(request: Request, code: str, status: int = 502) -> JSONResponse:
    return JSONResponse(
        {"error": code, "message": message(request_lang(request), code)}, status_code=status
    )


@router.get("/imaging/study")
def open_study(
    request: Request,
    context: deps.Context,
    principal: Reader,
    source: SourceQ,
    patient: PatientQ,
    item: ItemKey,
) -> Response:
    """The item's study, opened: series shown, slice count, spine column, image URLs."""
    from bonepath.imaging.studies import StudyError

    state = imaging_state(request)
    try:
        record = load_patient(context.store, principal, source, patient)
        found = svc.find_item(context.store, record, item)
    except NotFound:
        deps.audit_denied(request, principal, "imaging.open", patient=(source, patient))
        raise
    if state.service is None:
        return _json_error(request, "NOT_CONFIGURED", 503)
    try:
        study_uid, candidates = svc.resolve_study(
            state.service, context.store, principal, record, found
        )
    except svc.ImagingUnavailable as exc:
        return _json_error(request, exc.code)
    if study_uid is None:
        code = "SEVERAL_STUDIES" if candidates else "NO_STUDY"
        return JSONResponse(
            {
                "error": code,
                "message": message(request_lang(request), code),
                "candidates": candidates,
            },
            status_code=404,
        )
    try:
        view = state.service.open(study_uid)
    except StudyError as exc:
        return _json_error(request, exc.code)
    # the study's reading radiologist (0008,1060) onto the link row: QC-11 by reader
    links.note_reading_physician(
        context.store.engine, source, patient, item, study_uid, view.reading_physician
    )
    deps.audit(
        request,
        principal,
        "imaging.open",
        patient=(source, patient),
        hospital=hospital_of(record),
        detail=f"item {item}; study {study_uid}; series {view.shown.series_uid}",
    )
    base = {
        "source": source,
        "patient": patient,
        "study": study_uid,
        "series": view.shown.series_uid,
    }
    return JSONResponse(
        {
            **view.to_dict(),
            "item": item,
            "image": "/imaging/image",
            "capture": "/imaging/capture",
            "query": base,
        }
    )


def _image_args(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    source: str,
    patient: str,
    study: str,
) -> ImagingState:
    state = imaging_state(request)
    if state.service is None:
        raise HTTPException(status_code=503, detail="no image source")
    try:
        state.grants.check(context.store, principal, source, patient, study)
    except NotFound:
        deps.audit_denied(
            request, principal, "imaging.image", patient=(source, patient), asked=f"study {study}"
        )
        raise
    return state


View = Annotated[str, Query(pattern="^(axial|sagittal)$")]
Index = Annotated[int, Query(ge=0, le=4095)]
WindowName = Annotated[str, Query(max_length=32, pattern=r"^[a-z_][a-z0-9_]*$")]


@router.get("/imaging/image")
def image(
    request: Request,
    context: deps.Context,
    principal: Reader,
    source: SourceQ,
    patient: PatientQ,
    study: Uid,
    series: Uid,
    view: View,
    index: Index,
    window: WindowName = "bone",
) -> Response:
    """One rendered image (PNG), cached; private to the browser for an hour."""
    from bonepath.imaging.studies import StudyError

    state = _image_args(request, context, principal, source, patient, study)
    try:
        png = state.service.image(study, series, view, index, window)  # type: ignore[union-attr]
    except StudyError as exc:
        status = 404 if exc.code.startswith("NO_SUCH") else 502
        return _json_error(request, exc.code, status)
    return Response(
        png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.get("/imaging/capture")
def capture(
    request: Request,
    context: deps.Context,
    principal: Exporter,
    source: SourceQ,
    patient: PatientQ,
    study: Uid,
    series: Uid,
    view: View,
    index: Index,
    window: WindowName = "bone",
) -> Response:
    """The image as a DICOM Secondary Capture file (download), audited as an export."""
    from bonepath.imaging.studies import StudyError

    state = _image_args(request, context, principal, source, patient, study)
    try:
        key = svc.export_key_image(
            state.service,
            context.store,
            principal,
            source,
            patient,
            study,
            series,
            view=view,
            index=index,
            window=window,
        )
    except StudyError as exc:
        status = 404 if exc.code.startswith("NO_SUCH") else 502
        return _json_error(request, exc.code, status)
    deps.audit(
        request,
        principal,
        "imaging.export",
        patient=(source, patient),
        detail=f"secondary capture {key.sop_uid} of study {study}: {view} {index} {window}",
    )
    return Response(
        key.data,
        media_type="application/dicom",
        headers={"Content-Disposition": f'attachment; filename="{key.filename}"'},
    )


@router.post("/imaging/review")
def review(
    request: Request,
    context: deps.Context,
    principal: Reviewer,
    source: Annotated[str, Form(max_length=64)],
    patient: Annotated[str, Form(max_length=64)],
    item: Annotated[str, Form(max_length=64, pattern=r"^\d{4}-\d{2}-\d{2}/ct/\d{1,3}$")],
    window: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """"骨窗已阅": one click, recorded on the item (who, when) and audited."""
    state = imaging_state(request)
    if state.service is None:
        raise HTTPException(status_code=503, detail="no image source")
    try:
        shown = state.service.window(window)
    except Exception:
        shown = None
    try:
        if shown is None:
            raise svc.ReviewRefused("NOT_BONE_WINDOW")
        record, link = svc.mark_bone_window_read(
            context.store, principal, source, patient, item, window=shown, today=context.today()
        )
    except NotFound:
        deps.audit_denied(
            request, principal, "imaging.bone_window_reviewed", patient=(source, patient)
        )
        raise
    except svc.ReviewRefused as exc:
        deps.audit(
            request,
            principal,
            "imaging.bone_window_reviewed",
            patient=(source, patient),
            outcome="refused",
            detail=f"item {item}: {exc.code}",
        )
        target = patient_url(source, patient, imaging_problem=exc.code) + "#imaging"
        return RedirectResponse(target, status_code=303)
    deps.audit(
        request,
        principal,
        "imaging.bone_window_reviewed",
        patient=(source, patient),
        hospital=hospital_of(record),
        detail=f"item {item}; study {link.study_uid}; {link.reviewed_window}",
    )
    return RedirectResponse(
        patient_url(source, patient, saved="bone_window") + "#imaging", status_code=303
    )


@router.post("/imaging/link")
def link(
    request: Request,
    context: deps.Context,
    principal: Reviewer,
    source: Annotated[str, Form(max_length=64)],
    patient: Annotated[str, Form(max_length=64)],
    item: Annotated[str, Form(max_length=64, pattern=r"^\d{4}-\d{2}-\d{2}/ct/\d{1,3}$")],
    study_uid: Annotated[str, Form(max_length=64)],
) -> Response:
    """Link an item to a study by its StudyInstanceUID (a new study clears the review)."""
    uid = study_uid.strip()
    try:
        record = load_patient(context.store, principal, source, patient)
        svc.find_item(context.store, record, item)
    except NotFound:
        deps.audit_denied(request, principal, "imaging.link", patient=(source, patient))
        raise
    if not UID_RE.match(uid):
        return RedirectResponse(
            patient_url(source, patient, imaging_problem="BAD_UID") + "#imaging", status_code=303
        )
    links.link_study(context.store.engine, source, patient, item, uid, by=principal.username)
    deps.audit(
        request,
        principal,
        "imaging.link",
        patient=(source, patient),
        hospital=hospital_of(record),
        detail=f"item {item}; study {uid}",
    )
    return RedirectResponse(
        patient_url(source, patient, saved="imaging_link") + "#imaging", status_code=303
    )


# the candidate-lesion aid and key images to an MDT case (web/imaging_aid_pages.py)
from bonepath.web.imaging_aid_pages import router as _aid_router  # noqa: E402

router.include_router(_aid_router)
