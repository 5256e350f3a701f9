"""An MDT referral, its consultation thread and its decision as FHIR R4 (docs/fhir.md "MDT").

Mapping (one ``collection`` Bundle per referral):

- the **referral / case** → ``Task`` (intent ``order``, code ``CodeSystem/mdt|remote_consultation``;
  status from the referral: open → ``requested``, answered → ``completed``-pending as
  ``in-progress``, accepted → ``completed``, revoked → ``cancelled``; ``requester`` the
  referring hospital, ``owner`` the centre, ``for`` the Patient, ``reasonCode`` the question
  in ``CodeSystem/mdt-question``, ``businessStatus`` the referral state);
- each **opinion / message** of the thread → ``Communication`` (``partOf``/``about`` the
  Task, ``sender`` a contained ``PractitionerRole`` whose ``specialty`` is the signing
  specialty in ``CodeSystem/mdt-specialty``, ``payload.contentString`` the text, ``sent``);
- the **decision** → ``CarePlan`` (status ``active``, intent ``plan``, ``category``
  ``CodeSystem/mdt|mdt_decision``, one ``activity.detail`` per decision code in
  ``CodeSystem/mdt-decision`` with drug/reason/site as ``detail.description``, ``note`` the
  rationale, ``contributor`` the centre, ``created`` the decision day, ``supportingInfo`` the
  Task, the attendees as extension ``mdt-attendee`` per specialty);
- the **patient** → for the centre's (de-identified) export a pseudonymous ``Patient`` whose
  id and only identifier are the referral's case number, with ``gender`` and the age in the
  extension ``age-years``, and no name, telecom, address or birth date; the referring
  hospital's export uses its own Patient reference (``Patient/<id>``) instead.

Every resource is validated by the fhir.resources R4B models before it is returned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bonepath.interop.fhir.codes import extension_url, local_system
from bonepath.interop.fhir.from_record import checked

TASK_STATUS: Final = {
    "open": "requested",
    "answered": "in-progress",
    "accepted": "completed",
    "revoked": "cancelled",
}
CASE_SYSTEM: Final = "http://bonepath.org/fhir/mdt-case"


def _rid(code: str) -> str:
    return code.lower()


def _day(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value.isoformat()


def referral_bundle(
    *,
    code: str,
    state: str,
    question: str,
    question_text: str,
    referring_hospital: tuple[str, str],
    centre: tuple[str, str],
    referred_at: dt.datetime,
    package: Mapping[str, Any],
    messages: Sequence[Mapping[str, Any]],
    decision: Mapping[str, Any] | None,
    patient_reference: str | None = None,
) -> dict[str, Any]:
    """The referral as a FHIR ``collection`` Bundle (module doc). ``patient_reference``:
    the referring hospital's own ``Patient/<id>``; None (the centre) gives the pseudonymous
    Patient built from the de-identified ``package``."""
    rid = _rid(code)
    entries: list[dict[str, Any]] = []
    if patient_reference is None:
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": f"{rid}",
            "identifier": [{"system": CASE_SYSTEM, "value": code}],
        }
        if package.get("sex") in {"male", "female"}:
            patient["gender"] = package["sex"]
        if isinstance(package.get("age"), int):
            patient["extension"] = [
                {"url": extension_url("age-years"), "valueInteger": package["age"]}
            ]
        entries.append(checked(patient))
        subject = f"Patient/{rid}"
    else:
        subject = patient_reference
    orgs: dict[str, str] = {}
    for side, (hospital_id, name) in (("referrer", referring_hospital), ("centre", centre)):
        org: dict[str, Any] = {
            "resourceType": "Organization",
            "id": f"{rid}-{side}",
            "identifier": [{"system": "http://bonepath.org/fhir/hospital", "value": hospital_id}],
            "name": name or hospital_id,
        }
        entries.append(checked(org))
        orgs[side] = f"Organization/{rid}-{side}"
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": f"{rid}-task",
        "identifier": [{"system": CASE_SYSTEM, "value": code}],
        "status": TASK_STATUS.get(state, "requested"),
        "businessStatus": {"text": state},
        "intent": "order",
        "code": {
            "coding": [{"system": local_system("mdt"), "code": "remote_consultation"}],
            "text": "区域MDT远程会诊 / regional MDT remote consultation",
        },
        "for": {"reference": subject},
        "authoredOn": _day(referred_at),
        "requester": {"reference": orgs["referrer"]},
        "owner": {"reference": orgs["centre"]},
        "reasonCode": {
            "coding": [{"system": local_system("mdt-question"), "code": question}],
            **({"text": question_text} if question_text else {}),
        },
    }
    entries.append(checked(task))
    for n, m in enumerate(messages, start=1):
        role: dict[str, Any] = {
            "resourceType": "PractitionerRole",
            "id": "sender",
            "specialty": [
                {"coding": [{"system": local_system("mdt-specialty"), "code": m["specialty"]}]}
            ],
            "organization": {
                "reference": orgs["centre"] if m.get("side") == "centre" else orgs["referrer"]
            },
        }
        communication = {
            "resourceType": "Communication",
            "id": f"{rid}-msg-{n}",
            "contained": [role],
            "status": "completed",
            "category": [{"coding": [{"system": local_system("mdt"), "code": str(m.get("kind"))}]}],
            "subject": {"reference": subject},
            "partOf": [{"reference": f"Task/{rid}-task"}],
            "about": [{"reference": f"Task/{rid}-task"}],
            "sent": _day(m.get("at")),
            "sender": {"reference": "#sender"},
            "payload": [{"contentString": str(m.get("body") or "")}],
        }
        entries.append(checked(communication))
    if decision:
        activities = []
        for d in decision.get("decisions") or ():
            detail: dict[str, Any] = {
                "status": "scheduled",
                "code": {"coding": [{"system": local_system("mdt-decision"), "code": d["type"]}]},
            }
            extra = " ".join(str(d[k]) for k in ("drug", "stop_reason", "site") if d.get(k))
            if extra:
                detail["description"] = extra
            activities.append({"detail": detail})
        plan: dict[str, Any] = {
            "resourceType": "CarePlan",
            "id": f"{rid}-decision",
            "status": "completed" if state == "accepted" else "active",
            "intent": "plan",
            "category": [{"coding": [{"system": local_system("mdt"), "code": "mdt_decision"}]}],
            "subject": {"reference": subject},
            "created": decision.get("decided_on"),
            "contributor": [{"reference": orgs["centre"]}],
            "supportingInfo": [{"reference": f"Task/{rid}-task"}],
            "extension": [
                {
                    "url": extension_url("mdt-attendee"),
                    "valueCodeableConcept": {
                        "coding": [{"system": local_system("mdt-specialty"), "code": a}]
                    },
                }
                for a in decision.get("attendees") or ()
            ],
            "activity": activities,
        }
        if decision.get("rationale"):
            plan["note"] = [{"text": str(decision["rationale"])}]
        if not plan["extension"]:
            del plan["extension"]
        entries.append(checked(plan))
    bundle = {
        "resourceType": "Bundle",
        "id": f"{rid}-bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:bonepath:{e['resourceType']}/{e['id']}", "resource": e}
            for e in entries
        ],
    }
    return checked(bundle)
