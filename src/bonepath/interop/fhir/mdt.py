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
    api_ids: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """The referral as a FHIR ``collection`` Bundle (module doc). ``patient_reference``:
    the referring hospital's own ``Patient/<id>``; None (the centre) gives the pseudonymous
    Patient built from the de-identified ``package``. ``api_ids`` (patient FHIR id, referral
    number): ids as the ``/fhir`` API serves a patient's resources (``<patient>-mdtreferral-<n>``,
    ``<patient>-mdtmsg-<message>``, ``<patient>-mdtanswer-<n>``), the hospitals referenced by
    identifier and not included."""
    rid = _rid(code)
    task_id = f"{api_ids[0]}-mdtreferral-{api_ids[1]}" if api_ids else f"{rid}-task"
    plan_id = f"{api_ids[0]}-mdtanswer-{api_ids[1]}" if api_ids else f"{rid}-decision"
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
    orgs: dict[str, dict[str, Any]] = {}
    for side, (hospital_id, name) in (("referrer", referring_hospital), ("centre", centre)):
        identifier = {"system": "http://bonepath.org/fhir/hospital", "value": hospital_id}
        if api_ids:
            orgs[side] = {"identifier": identifier, "display": name or hospital_id}
            continue
        org: dict[str, Any] = {
            "resourceType": "Organization",
            "id": f"{rid}-{side}",
            "identifier": [identifier],
            "name": name or hospital_id,
        }
        entries.append(checked(org))
        orgs[side] = {"reference": f"Organization/{rid}-{side}"}
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": task_id,
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
        "requester": orgs["referrer"],
        "owner": orgs["centre"],
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
            "organization": orgs["centre"] if m.get("side") == "centre" else orgs["referrer"],
        }
        communication = {
            "resourceType": "Communication",
            "id": f"{api_ids[0]}-mdtmsg-{m['id']}" if api_ids else f"{rid}-msg-{n}",
            "contained": [role],
            "status": "completed",
            "category": [{"coding": [{"system": local_system("mdt"), "code": str(m.get("kind"))}]}],
            "subject": {"reference": subject},
            "partOf": [{"reference": f"Task/{task_id}"}],
            "about": [{"reference": f"Task/{task_id}"}],
            "sent": _day(m.get("at")),
            "sender": {"reference": "#sender"},
            "payload": [{"contentString": str(m.get("body") or "")}],
        }
        entries.append(checked(communication))
    if decision:
        plan = decision_plan(
            plan_id,
            decision,
            subject=subject,
            task=f"Task/{task_id}",
            contributor=None,
            completed=state == "accepted",
        )
        plan["contributor"] = [orgs["centre"]]
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


CASE_TASK_STATUS: Final = {
    "proposed": "requested",
    "scheduled": "accepted",
    "discussed": "in-progress",
    "decided": "in-progress",
    "implemented": "completed",
    "withdrawn": "cancelled",
}
"""An MDT case's state as a Task status (``businessStatus`` keeps the case state itself)."""


def decision_plan(
    rid: str,
    decision: Mapping[str, Any],
    *,
    subject: str,
    task: str,
    contributor: str | None,
    completed: bool,
) -> dict[str, Any]:
    """A decision as a ``CarePlan`` (module doc)."""
    activities = []
    for d in decision.get("decisions") or ():
        detail: dict[str, Any] = {
            "status": "completed" if completed else "scheduled",
            "code": {"coding": [{"system": local_system("mdt-decision"), "code": d["type"]}]},
        }
        extra = " ".join(str(d[k]) for k in ("drug", "stop_reason", "site") if d.get(k))
        if extra:
            detail["description"] = extra
        activities.append({"detail": detail})
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": rid,
        "status": "completed" if completed else "active",
        "intent": "plan",
        "category": [{"coding": [{"system": local_system("mdt"), "code": "mdt_decision"}]}],
        "subject": {"reference": subject},
        "created": decision.get("decided_on"),
        "supportingInfo": [{"reference": task}],
        "activity": activities,
    }
    if contributor:
        plan["contributor"] = [{"reference": contributor}]
    attendees = [
        {
            "url": extension_url("mdt-attendee"),
            "valueCodeableConcept": {
                "coding": [{"system": local_system("mdt-specialty"), "code": a}]
            },
        }
        for a in decision.get("attendees") or ()
    ]
    if attendees:
        plan["extension"] = attendees
    if decision.get("rationale"):
        plan["note"] = [{"text": str(decision["rationale"])}]
    findings = [str(f.get("rule")) for f in decision.get("findings") or () if f.get("rule")]
    if findings:  # the guideline findings that were on the case (rule ids)
        plan["description"] = "guideline findings on the case: " + ", ".join(findings)
    return checked(plan)


def case_resources(
    case: Mapping[str, Any],
    decision: Mapping[str, Any] | None,
    *,
    patient_id: str,
) -> list[dict[str, Any]]:
    """An MDT case of a hospital's own MDT (``Case.to_json()`` and its decision JSON) as a
    ``Task`` and, once decided, a ``CarePlan``; ids ``<patient id>-mdtcase-<n>`` and
    ``<patient id>-mdtplan-<n>``. The Task's ``input`` lists the MDT-01 triggers,
    ``restriction.period.end`` the due date; a withdrawn case carries its reason as
    ``statusReason``; a case referred to a regional centre names it as ``owner``."""
    n = case["id"]
    subject = f"Patient/{patient_id}"
    task_id = f"{patient_id}-mdtcase-{n}"
    question = case.get("question") or {}
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": task_id,
        "identifier": [{"system": "http://bonepath.org/fhir/mdt-case-id", "value": str(n)}],
        "status": CASE_TASK_STATUS.get(str(case.get("state")), "requested"),
        "businessStatus": {"text": str(case.get("state"))},
        "intent": "plan",
        "code": {
            "coding": [{"system": local_system("mdt"), "code": "mdt_case"}],
            "text": "多学科会诊病例 / MDT case",
        },
        "for": {"reference": subject},
        "authoredOn": case.get("created_on"),
        "reasonCode": {
            "coding": [{"system": local_system("mdt-question"), "code": str(question.get("type"))}],
            **({"text": question["text"]} if question.get("text") else {}),
        },
    }
    triggers = list(case.get("triggers") or ())
    if triggers:
        task["input"] = [
            {
                "type": {"coding": [{"system": local_system("mdt"), "code": "trigger"}]},
                "valueString": t,
            }
            for t in triggers
        ]
    if case.get("due"):
        task["restriction"] = {"period": {"end": case["due"]}}
    if case.get("state") == "withdrawn" and case.get("withdrawn_reason"):
        task["statusReason"] = {"text": str(case["withdrawn_reason"])}
    if case.get("referred_to"):
        task["owner"] = {
            "identifier": {
                "system": "http://bonepath.org/fhir/hospital",
                "value": str(case["referred_to"]),
            }
        }
    out = [checked(task)]
    if decision:
        centre = decision.get("centre")
        plan = decision_plan(
            f"{patient_id}-mdtplan-{n}",
            decision,
            subject=subject,
            task=f"Task/{task_id}",
            contributor=None,
            completed=case.get("state") == "implemented",
        )
        if centre:
            plan["contributor"] = [
                {"identifier": {"system": "http://bonepath.org/fhir/hospital", "value": centre}}
            ]
            checked(plan)
        out.append(plan)
    return out
