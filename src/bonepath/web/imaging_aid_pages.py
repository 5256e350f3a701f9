"""The candidate-lesion aid in the CT viewer, and key images to the patient's MDT case
(issue 17 items 2 and 3, joined to the viewer).

- ``POST /imaging/aid`` (JSON answer): run :func:`bonepath.imaging.aid.analyse_volume` on the
  open study's volume (the viewer's image service and volume loader) in a background thread,
  one analysis at a time; the answer is cached per study and series. The page polls
  ``GET /imaging/aid`` until the state is ``done`` (or ``failed``). Audited ``imaging.aid``.
- ``GET /imaging/aid/key``: the key image (PNG, outlined) of one candidate.
- ``POST /imaging/attach``: the image on screen, as the MDT attachment of
  :func:`bonepath.api.imaging.key_image_attachment`, added to the patient's open MDT case
  (``mdt.case.attach`` audit row by the MDT service).

The aid is shown only as "未经验证的辅助提示" with its measured accuracy; nothing here writes the
record (tests/web/test_imaging_aid.py checks it). Who may open the images may run the aid.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from bonepath.api import deps, mdt_service
from bonepath.api import imaging as svc
from bonepath.api.services import hospital_of, load_patient
from bonepath.errors import NotFound, RecordRefused
from bonepath.store import mdt as mdt_store
from bonepath.store.accounts import Permission, Principal
from bonepath.web.i18n import Lang, gettext
from bonepath.web.imaging_pages import (
    Index,
    PatientQ,
    SourceQ,
    Uid,
    imaging_state,
)
from bonepath.web.pages import N_, patient_url, request_lang

router: APIRouter = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(deps.require(Permission.READ_PATIENTS))]
Writer = Annotated[Principal, Depends(deps.require(Permission.WRITE_EVENTS))]
UID_FORM: Final = r"^[0-9]+(\.[0-9]+)*$"
FormUid = Annotated[str, Form(max_length=64, pattern=UID_FORM)]
FormText = Annotated[str, Form(min_length=1, max_length=64)]

KIND_LABELS: Final = {"lytic": N_("lytic"), "blastic": N_("blastic")}
REGION_LABELS: Final = {
    "vertebral_body": N_("vertebral body"),
    "vertebral_posterior_elements": N_("vertebral posterior elements"),
    "sternum": N_("sternum"),
    "rib_or_small_bone": N_("rib or small bone"),
    "other_bone": N_("other bone"),
}
NOT_SEARCHED_LABELS: Final = {
    "pelvis": N_("pelvis"),
    "sacrum": N_("sacrum"),
    "long bones": N_("long bones"),
    "scapulae": N_("scapulae"),
    "skull": N_("skull"),
    "lytic lesions of ribs": N_("lytic lesions of ribs"),
}
SIDE_LABELS: Final = {"left": N_("left"), "right": N_("right")}
AID_MESSAGES: Final = {"AID_FAILED": N_("The aid could not analyse this series.")}
MAX_CACHED: Final = 16


@dataclass
class AidJob:
    state: str = "running"  # running | done | failed
    answer: dict[str, Any] | None = None
    key_images: dict[int, bytes] = field(default_factory=dict)
    error: str = ""


class AidJobs:
    """The aid's answers per (study, series), computed one at a time in a background thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run = threading.Lock()  # one analysis at a time: the CPU is the clinic's
        self._jobs: dict[tuple[str, str], AidJob] = {}

    def get(self, study: str, series: str) -> AidJob | None:
        with self._lock:
            return self._jobs.get((study, series))

    def start(self, service: Any, study: str, series: str) -> tuple[AidJob, bool]:
        """The job (started now unless it runs or is done; a failed one is retried)."""
        with self._lock:
            job = self._jobs.get((study, series))
            if job is not None and job.state != "failed":
                return job, False
            if len(self._jobs) >= MAX_CACHED:
                for key in [k for k, j in self._jobs.items() if j.state != "running"][:4]:
                    del self._jobs[key]
            job = AidJob()
            self._jobs[(study, series)] = job
        thread = threading.Thread(
            target=self._work, args=(job, service, study, series), name="bonepath-aid", daemon=True
        )
        thread.start()
        return job, True

    def _work(self, job: AidJob, service: Any, study: str, series: str) -> None:
        from bonepath.imaging.aid import analyse_volume

        try:
            with self._run:
                volume = service.volume(study, series)
                report = analyse_volume(volume, key_images=True)
            job.answer = report.to_json()
            job.key_images = dict(report.key_images)
            job.state = "done"
        except Exception as exc:  # the page says it failed; the viewer stays usable
            job.error = type(exc).__name__
            job.state = "failed"


_JOBS_LOCK = threading.Lock()


def aid_jobs(request: Request) -> AidJobs:
    jobs: AidJobs | None = getattr(request.app.state, "bonepath_aid", None)
    if jobs is None:
        with _JOBS_LOCK:
            jobs = getattr(request.app.state, "bonepath_aid", None)
            if jobs is None:
                jobs = AidJobs()
                request.app.state.bonepath_aid = jobs
    return jobs


def _accuracy(lang: Lang, accuracy: dict[str, Any]) -> str:
    fp = accuracy.get("false_candidates_per_volume", {})
    counts = sorted(int(v) for v in fp.values()) if isinstance(fp, dict) else []
    spread = f"{counts[0]}–{counts[-1]}" if counts else "?"
    return gettext(
        lang,
        N_(
            "Measured on synthetic lesions inserted into one real CT, not on patients: skeleton "
            "Dice {dice}; false candidates per volume {fp}; lytic vertebral lesions of 10–30 mm found "
            "{lytic}; blastic ones {blastic}; lesions of 5 mm mostly missed; not searched: {missed}."
        ),
    ).format(
        dice=accuracy.get("skeleton_dice", "?"),
        fp=spread,
        lytic=str(accuracy.get("sensitivity", {}).get("lytic_vertebra_10_30mm", "?")).split(" ")[0],
        blastic=str(
            accuracy.get("sensitivity", {}).get("blastic_vertebra_10_30mm_300_600HU", "?")
        ).split(" ")[0],
        missed=("、" if lang == "zh" else ", ").join(
            gettext(lang, NOT_SEARCHED_LABELS[m]) if m in NOT_SEARCHED_LABELS else m
            for m in accuracy.get("not_searched", [])
        ),
    )


def view_of(lang: Lang, job: AidJob, query: dict[str, str]) -> dict[str, Any]:
    """The page's answer: labels in the page's language, the candidates, their key images."""
    out: dict[str, Any] = {
        "state": job.state,
        "status": gettext(lang, N_("Analysing the series… (about 10 s for 300 slices)")),
    }
    if job.state == "failed":
        out["status"] = gettext(lang, AID_MESSAGES["AID_FAILED"])
        return out
    if job.state != "done" or job.answer is None:
        return out
    aid = job.answer["aid"]
    out["never"] = gettext(
        lang,
        N_(
            "The aid never confirms or excludes bone metastasis and never writes the record: "
            "a reader who agrees records the finding."
        ),
    )
    out["accuracy"] = _accuracy(lang, aid["measured_accuracy"])
    rows = []
    for i, c in enumerate(job.answer["candidates"]):
        side = c.get("side")
        where = gettext(lang, REGION_LABELS.get(c["region"], N_("other bone")))
        if side in SIDE_LABELS:
            where = (
                f"{where}（{gettext(lang, SIDE_LABELS[side])}）"
                if lang == "zh"
                else (f"{where} ({gettext(lang, SIDE_LABELS[side])})")
            )
        rows.append(
            {
                "id": c["id"],
                "kind": c["kind"],
                "kind_label": gettext(lang, KIND_LABELS.get(c["kind"], c["kind"])),
                "where": where,
                "slice": c["slice"],
                "volume_mm3": c["volume_mm3"],
                "mean_hu": c["hu"].get("mean"),
                "key_image": f"/imaging/aid/key?{_qs({**query, 'n': str(i)})}",
            }
        )
    out["candidates"] = rows
    out["status"] = (
        gettext(lang, N_("{n} candidates; click one to show its slice.")).format(n=len(rows))
        if rows
        else gettext(lang, N_("The aid found no candidate in the searched bones."))
    )
    return out


def _qs(query: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(query)


def _granted(
    request: Request,
    context: deps.AppContext,
    principal: Principal,
    source: str,
    patient: str,
    study: str,
) -> Any:
    state = imaging_state(request)
    if state.service is None:
        raise HTTPException(status_code=503, detail="no image source")
    try:
        state.grants.check(context.store, principal, source, patient, study)
    except NotFound:
        deps.audit_denied(request, principal, "imaging.aid", patient=(source, patient))
        raise
    return state.service


@router.post("/imaging/aid")
def run_aid(
    request: Request,
    context: deps.Context,
    principal: Reader,
    source: FormText,
    patient: FormText,
    study: FormUid,
    series: FormUid,
) -> Response:
    """Start (or find) the aid's analysis of the study's series; the answer so far."""
    service = _granted(request, context, principal, source, patient, study)
    job, started = aid_jobs(request).start(service, study, series)
    deps.audit(
        request,
        principal,
        "imaging.aid",
        patient=(source, patient),
        detail=f"study {study}; series {series}; {'started' if started else job.state}",
    )
    query = {"source": source, "patient": patient, "study": study, "series": series}
    return JSONResponse(view_of(request_lang(request), job, query))


@router.get("/imaging/aid")
def aid_answer(
    request: Request,
    context: deps.Context,
    principal: Reader,
    source: SourceQ,
    patient: PatientQ,
    study: Uid,
    series: Uid,
) -> Response:
    """The aid's answer so far (the page polls while it is ``running``)."""
    _granted(request, context, principal, source, patient, study)
    job = aid_jobs(request).get(study, series)
    if job is None:
        return JSONResponse({"state": "none"}, status_code=404)
    query = {"source": source, "patient": patient, "study": study, "series": series}
    return JSONResponse(view_of(request_lang(request), job, query))


@router.get("/imaging/aid/key")
def aid_key_image(
    request: Request,
    context: deps.Context,
    principal: Reader,
    source: SourceQ,
    patient: PatientQ,
    study: Uid,
    series: Uid,
    n: Index,
) -> Response:
    """One candidate's key image (PNG, bone window, outlined)."""
    _granted(request, context, principal, source, patient, study)
    job = aid_jobs(request).get(study, series)
    if job is None or n not in job.key_images:
        raise HTTPException(status_code=404, detail="no such key image")
    return Response(
        job.key_images[n],
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.post("/imaging/attach")
def attach_key_image(
    request: Request,
    context: deps.Context,
    principal: Writer,
    source: Annotated[str, Form(min_length=1, max_length=64)],
    patient: Annotated[str, Form(min_length=1, max_length=64)],
    study: FormUid,
    series: FormUid,
    view: Annotated[str, Form(pattern="^(axial|sagittal)$")],
    index: Annotated[int, Form(ge=0, le=4095)],
    window: Annotated[str, Form(max_length=32, pattern=r"^[a-z_][a-z0-9_]*$")],
) -> Response:
    """The image on screen to the patient's open MDT case (attachment kind ``image``)."""
    service = _granted(request, context, principal, source, patient, study)
    record = load_patient(context.store, principal, source, patient)
    case_id = mdt_store.open_case_of(context.store.engine, source, patient)
    if case_id is None:
        target = patient_url(source, patient, imaging_problem="NO_OPEN_MDT_CASE") + "#imaging"
        return RedirectResponse(target, status_code=303)
    lang = request_lang(request)
    try:
        shown = service.window(window)
        label = shown.label
    except Exception:
        label = ""
    found = svc.key_image_attachment(
        source,
        patient,
        study,
        series,
        view=view,
        index=index,
        window=window,
        window_label=label,
        lang="zh" if lang == "zh" else "en",
    )
    from bonepath.web.imaging_pages import WINDOW_LABELS

    shown_name = gettext(lang, WINDOW_LABELS[window]) if window in WINDOW_LABELS else window
    what = (
        N_("CT key image: sagittal spine reformat, column {n} ({window})")
        if view == "sagittal"
        else N_("CT key image: axial slice {n} ({window})")
    )
    found["title"] = gettext(lang, what).format(n=index + 1, window=f"{shown_name} {label}".strip())
    try:
        mdt_service.add_attachment(
            context.store,
            principal,
            case_id,
            kind="image",
            title=found["title"],
            text=f"{found['text']}\nDICOM Secondary Capture: {found['dicom_uri']}",
            uri=found["uri"],
            client=deps.client_address(request),
        )
    except (RecordRefused, PermissionError):
        target = patient_url(source, patient, imaging_problem="NO_OPEN_MDT_CASE") + "#imaging"
        return RedirectResponse(target, status_code=303)
    deps.audit(
        request,
        principal,
        "imaging.attach",
        patient=(source, patient),
        hospital=hospital_of(record),
        detail=f"MDT case {case_id}: {view} {index} {window} of study {study}",
    )
    target = patient_url(source, patient, saved="key_image", case=str(case_id)) + "#imaging"
    return RedirectResponse(target, status_code=303)


__all__ = ["AidJobs", "aid_jobs", "router", "view_of"]
