"""The regional MDT network's services (issue 16 item 4): who may see and do what.

No web framework here: the JSON routes (:mod:`bonepath.api.routes.mdt_network`) and the pages
(:mod:`bonepath.web.mdt_network_pages`) call these and audit.

Access model (docs/mdt.md "The regional network and privacy"):

- **referrer side**: a user granted the referring hospital (tenancy as everywhere); they refer
  their own patients (``write_events``), see the full record as always, record the patient's
  consent to disclose identity, revoke the centre's access, and accept the centre's decision
  into the record through the validated write path.
- **centre side**: a user granted the network's centre hospital sees the referrals *to* it,
  nothing else of the referring hospital: only the de-identified package under its
  pseudonymous code (identity only after a recorded consent), the thread, and the forms to
  sign an opinion, schedule a meeting and answer. A revoked referral is, to the centre, a
  referral that does not exist (404). Every other page and API of the referring hospital stays
  404 to them, because their grants do not include it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from sqlalchemy import Connection

from bonepath.api import mdt_service
from bonepath.errors import InputError, NotFound, Problem, RecordRefused
from bonepath.mdt.decisions import apply_decision, check_decision
from bonepath.mdt.deidentify import Scrubber, build_package, identifiers_of
from bonepath.mdt.model import CaseDecision, Decision, DecisionType, QuestionType, Specialty
from bonepath.mdt.summary import case_summary
from bonepath.record.parse import parse_record
from bonepath.store import network
from bonepath.store.accounts import Permission, Principal
from bonepath.store.hospitals import find_hospital
from bonepath.store.network import Referral
from bonepath.store.repository import Store, content_hash

WEB_SOURCE_PREFIX: Final = "web:"
MAX_TEXT: Final = 4000
Side = Literal["centre", "referrer"]


def _text(value: str | None, field: str, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise RecordRefused([Problem(f"/{field}", "REQUIRED", f"{field} is required")])
    if len(text) > MAX_TEXT:
        raise RecordRefused(
            [Problem(f"/{field}", "OUT_OF_RANGE", f"{field} is over {MAX_TEXT} characters")]
        )
    return text


def _question(value: str) -> QuestionType:
    try:
        return QuestionType(value)
    except ValueError:
        raise RecordRefused(
            [
                Problem(
                    "/question",
                    "UNKNOWN_CODE",
                    f"unknown question {value!r}",
                    tuple(q.value for q in QuestionType),
                )
            ]
        ) from None


def _specialty(value: str) -> Specialty:
    try:
        return Specialty(value)
    except ValueError:
        raise RecordRefused(
            [
                Problem(
                    "/specialty",
                    "UNKNOWN_CODE",
                    f"unknown specialty {value!r}",
                    tuple(s.value for s in Specialty),
                )
            ]
        ) from None


moment = mdt_service.moment
"""Timestamps on the app's clock (:func:`bonepath.api.mdt_service.moment`)."""


# ---- who sees a referral ------------------------------------------------------------------------


def side_of(principal: Principal, referral: Referral) -> Side | None:
    """``referrer`` for a user granted the referring hospital; ``centre`` for one granted
    the centre while the referral is not revoked; None: the referral does not exist for them."""
    if principal.sees(referral.hospital_id):
        return "referrer"
    if referral.state != "revoked" and principal.sees(referral.centre_id):
        return "centre"
    return None


def open_referral(store: Store, principal: Principal, code: str) -> tuple[Referral, Side]:
    """The referral ``code`` and the caller's side; NotFound when they may not see it."""
    referral = network.get_referral(store.engine, code) if _CODE.match(code) else None
    side = side_of(principal, referral) if referral is not None else None
    if referral is None or side is None:
        raise NotFound(f"no referral {code}")
    return referral, side


_CODE: Final = re.compile(r"^RC-[A-Z0-9]{8}$")


def referrals_for(store: Store, principal: Principal) -> tuple[list[Referral], list[Referral]]:
    """(sent by the caller's hospitals, received by the caller's centres), newest first."""
    granted = principal.hospital_filter()
    if granted is None:
        every = network.list_referrals(store.engine)
        return every, [r for r in every if r.state != "revoked"]
    sent = network.list_referrals(store.engine, hospitals=granted)
    centres = [n.centre_id for n in network.list_networks(store.engine)]
    mine = [c for c in centres if c in granted]
    received = (
        network.list_referrals(store.engine, centres=mine, include_revoked=False) if mine else []
    )
    sent_ids = {r.id for r in sent}
    return sent, [r for r in received if r.id not in sent_ids]


# ---- referring ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """What a referral would send: the centre and the de-identified package (a preview)."""

    centre_id: str
    network_id: str
    package: dict[str, Any]


def draft_referral(
    store: Store,
    principal: Principal,
    patient: tuple[str, str],
    *,
    question: str,
    question_text: str,
    today: dt.date,
    code: str = "RC-PREVIEW",
) -> Draft:
    """The package the centre would get (nothing is stored): the referrer's preview."""
    record = store.get_record(*patient)
    hospital = record.hospital.id if record is not None and record.hospital else None
    if record is None or not principal.sees(hospital):
        raise NotFound(f"no patient {patient[0]}/{patient[1]}")
    kind = _question(question)
    text = _text(question_text, "question_text")
    net = network.network_of(store.engine, hospital)
    if net is None:
        raise InputError(
            f"hospital {hospital} belongs to no regional MDT network: an administrator adds it "
            "on the network page first"
        )
    summary = case_summary(record, today)
    package = build_package(
        record.to_json_dict(),
        code=code,
        referral_day=today,
        question=kind.value,
        question_text=text,
        summary=summary,
    )
    return Draft(net.centre_id, net.id, package)


def refer(
    store: Store,
    principal: Principal,
    patient: tuple[str, str],
    *,
    question: str,
    question_text: str,
    today: dt.date,
    case_id: int | None = None,
    consent: bool = False,
    consent_note: str | None = None,
) -> Referral:
    """Refer a patient of the caller's hospital to its network's centre (MDT-02)."""
    if not principal.can(Permission.WRITE_EVENTS):
        raise PermissionError("needs the write_events permission")
    note = _text(consent_note, "consent_note", required=consent)
    code = network.new_code()
    draft = draft_referral(
        store,
        principal,
        patient,
        question=question,
        question_text=question_text,
        today=today,
        code=code,
    )
    record = store.get_record(*patient)
    assert record is not None and record.hospital is not None and record.hospital.id
    network.create_referral(
        store.engine,
        code=code,
        case_id=case_id,
        patient=patient,
        hospital_id=record.hospital.id,
        centre_id=draft.centre_id,
        network_id=draft.network_id,
        question=draft.package["question"]["type"],
        question_text=_text(question_text, "question_text"),
        package=draft.package,
        referred_by=principal.username,
        consent=consent,
        consent_note=note or None,
        at=moment(today),
    )
    found = network.get_referral(store.engine, code)
    assert found is not None
    return found


# ---- what the centre is shown -------------------------------------------------------------------


def scrubber_for(store: Store, referral: Referral) -> Scrubber:
    """Scrubs the patient's identifiers (as the record holds them now) and every pattern."""
    record = store.get_record(*referral.patient)
    known = identifiers_of(record.to_json_dict()) if record is not None else []
    return Scrubber([*known, referral.patient_id])


def identity_for_centre(store: Store, referral: Referral) -> dict[str, str] | None:
    """Who the patient is, for the centre: only with a recorded consent (else None)."""
    if not referral.consent:
        return None
    record = store.get_record(*referral.patient)
    if record is None:
        return None
    data = record.to_json_dict()
    identity = data.get("identity") or {}
    return {
        "name": str(identity.get("name") or ""),
        "phone": str(identity.get("phone") or ""),
        "patient_id": referral.patient_id,
        "birth_date": str(data.get("birth_date") or ""),
    }


def thread_for(store: Store, referral: Referral, side: Side) -> list[dict[str, Any]]:
    """The thread as ``side`` sees it: the referrer's own messages are scrubbed for the centre
    unless identity was disclosed with consent."""
    scrub = side == "centre" and not referral.consent
    tool = scrubber_for(store, referral) if scrub else None
    return [
        {
            "id": m.id,
            "at": m.at,
            "username": m.username,
            "side": m.side,
            "specialty": m.specialty,
            "kind": m.kind,
            "body": tool.scrub(m.body) if tool is not None else m.body,
        }
        for m in referral.messages
    ]


# ---- the thread, the meeting, the answer --------------------------------------------------------


def post_message(
    store: Store,
    principal: Principal,
    referral: Referral,
    side: Side,
    *,
    specialty: str,
    body: str,
    kind: str = "opinion",
    today: dt.date | None = None,
) -> None:
    if not principal.can(Permission.WRITE_EVENTS):
        raise PermissionError("needs the write_events permission")
    if referral.state in {"accepted", "revoked"}:
        raise InputError(f"the referral is {referral.state}; the thread is closed")
    chosen = _specialty(specialty)
    text = _text(body, "body", required=True)
    if kind not in {"opinion", "message"}:
        kind = "message"
    network.add_message(
        store.engine,
        referral.id,
        username=principal.username,
        side=side,
        specialty=chosen.value,
        kind=kind,
        body=text,
        at=moment(today) if today is not None else None,
    )


def schedule_meeting(
    store: Store, principal: Principal, referral: Referral, *, at: dt.datetime, link: str
) -> None:
    if not principal.can(Permission.WRITE_EVENTS):
        raise PermissionError("needs the write_events permission")
    target = link.strip()
    parts = urlsplit(target)
    if target and (parts.scheme not in {"https", "http"} or not parts.netloc):
        raise RecordRefused(
            [Problem("/link", "INVALID_LINK", "a meeting link is an http(s) address")]
        )
    if at.tzinfo is None:
        raise InputError("a meeting time needs its time zone")
    network.update_referral(
        store.engine,
        referral.id,
        expect=("open", "answered"),
        meeting_at=at,
        meeting_link=target or None,
    )


def answer(
    store: Store,
    principal: Principal,
    referral: Referral,
    *,
    decisions: Sequence[Mapping[str, Any]],
    rationale: str,
    attendees: Sequence[str],
    today: dt.date,
) -> CaseDecision:
    """The centre's decision (validated as any MDT decision: check_decision)."""
    if not principal.can(Permission.WRITE_EVENTS):
        raise PermissionError("needs the write_events permission")
    problems: list[Problem] = []
    parsed: list[Decision] = []
    for i, d in enumerate(decisions):
        try:
            parsed.append(Decision.from_json(d))
        except (KeyError, ValueError):
            problems.append(
                Problem(
                    f"/decisions/{i}",
                    "UNKNOWN_CODE",
                    f"unknown decision {d.get('type')!r}",
                    tuple(t.value for t in DecisionType),
                )
            )
    specialties = {m.specialty for m in referral.messages if m.side == "centre"}
    chosen: list[Specialty] = []
    for a in [*attendees, *sorted(specialties)]:
        try:
            chosen.append(Specialty(a))
        except ValueError:
            problems.append(
                Problem(
                    "/attendees",
                    "UNKNOWN_CODE",
                    f"unknown specialty {a!r}",
                    tuple(s.value for s in Specialty),
                )
            )
    if problems:
        raise RecordRefused(problems)
    decision = CaseDecision(
        decided_on=today,
        decisions=tuple(parsed),
        rationale=_text(rationale, "rationale"),
        attendees=tuple(dict.fromkeys(chosen)),
        remote=True,
        centre=referral.centre_id,
        decided_by=principal.username,
    )
    check_decision(decision)
    # the decision must also make the referring record valid; it is tried here, so that the
    # centre hears of a refusal now, not the referrer at acceptance
    _decided_record(store, referral, decision, today)
    done = network.update_referral(
        store.engine,
        referral.id,
        expect=("open", "answered"),
        decision=decision.to_json(),
        answered_by=principal.username,
        answered_at=moment(today),
        state="answered",
    )
    if not done:
        raise InputError(f"the referral is {referral.state}; it can no longer be answered")
    return decision


def _decided_record(
    store: Store, referral: Referral, decision: CaseDecision, today: dt.date
) -> Any:
    record = store.get_record(*referral.patient)
    if record is None:
        raise NotFound(f"no referral {referral.code}")
    document = apply_decision(record.to_json_dict(), decision, _question(referral.question))
    return parse_record(document, today=today)


def accept(store: Store, principal: Principal, referral: Referral, *, today: dt.date) -> None:
    """The referring hospital takes the centre's decision into its own record: the ``mdt``
    item (``remote``, ``centre``) and the facts it settles, through ``parse_record``, written
    with the referral's change to ``accepted`` in one transaction (``Store.write_record``;
    ``RECORD_CHANGED`` when the record changed since it was read; a refusal writes nothing)."""
    if not principal.can(Permission.WRITE_EVENTS):
        raise PermissionError("needs the write_events permission")
    if referral.state != "answered" or referral.decision is None:
        raise InputError("only an answered referral can be accepted")
    record = store.get_record(*referral.patient)
    if record is None:
        raise NotFound(f"no referral {referral.code}")
    decision = CaseDecision.from_json(referral.decision)
    document = apply_decision(record.to_json_dict(), decision, _question(referral.question))
    updated = parse_record(document, today=today)
    # a referral made from a hospital MDT case decides that case, exactly as a hospital
    # decision (mdt_service: decided, tasks of the responsibility table, history, audit), in
    # the same transaction as the record and the referral; refused first when it cannot
    case_side = None
    if referral.case_id is not None:
        case_side = mdt_service.remote_decision_side(
            store, principal, referral.case_id, decision, {}, referral=referral.code
        )

    def referral_side(conn: Connection) -> None:
        claimed = network.update_referral(
            conn,
            referral.id,
            expect=("answered",),
            state="accepted",
            accepted_by=principal.username,
            accepted_at=moment(today),
        )
        if not claimed:
            raise InputError("the referral was accepted or changed meanwhile")
        if case_side is not None:
            case_side(conn)

    store.write_record(
        updated,
        import_source=f"{WEB_SOURCE_PREFIX}{principal.username}",
        expected_hash=content_hash(record),
        also=referral_side,
    )


def revoke(
    store: Store,
    principal: Principal,
    referral: Referral,
    *,
    reason: str,
    today: dt.date | None = None,
) -> None:
    text = _text(reason, "reason", required=True)
    done = network.update_referral(
        store.engine,
        referral.id,
        expect=("open", "answered", "accepted"),
        state="revoked",
        revoked_by=principal.username,
        revoked_at=moment(today) if today is not None else dt.datetime.now(dt.UTC),
        revoke_reason=text,
    )
    if not done:
        raise InputError("the referral is already revoked")


def set_consent(
    store: Store,
    principal: Principal,
    referral: Referral,
    *,
    given: bool,
    note: str,
    today: dt.date | None = None,
) -> None:
    """Record (or withdraw) the patient's consent to show their identity to the centre."""
    text = _text(note, "consent_note", required=given)
    network.update_referral(
        store.engine,
        referral.id,
        expect=("open", "answered", "accepted"),
        consent=given,
        consent_by=principal.username,
        consent_at=moment(today) if today is not None else dt.datetime.now(dt.UTC),
        consent_note=text or None,
    )


def hospital_label(store: Store, hospital_id: str) -> str:
    try:
        found = find_hospital(store.engine, hospital_id)
    except NotFound:
        return hospital_id
    return found.name or hospital_id
